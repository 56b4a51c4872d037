#!/bin/bash
# Train with litlab on a SLURM cluster: one task per GPU, Lightning reads the layout from SLURM's variables.
#
#   sbatch scripts/slurm.sh                                          # configs/cifar10_cnn.yaml, 2 nodes x 4 GPUs
#   sbatch --nodes=1 --gpus-per-node=2 --ntasks-per-node=2 scripts/slurm.sh configs/cifar10_fast.yaml
#   sbatch scripts/slurm.sh configs/cifar10_cnn.yaml --trainer.max_epochs 40   # extra args go to `litlab fit`
#
# Keep --ntasks-per-node equal to --gpus-per-node: Lightning's SLURMEnvironment starts one process per task
# and checks that it matches trainer.devices. srun starts every process itself (Lightning launches nothing).
# The script always passes --ckpt_path last: a fresh experiment starts, and a job that was preempted (SLURM
# requeues it, --requeue), hit its time limit or crashed continues its newest run from its newest checkpoint
# when submitted again, in the same TensorBoard run. At most the steps since the last checkpoint are redone
# (see the configs' rolling step checkpoint). Pin the run with --trainer.logger.init_args.version N if other
# runs of the same experiment may start in between; add --ckpt_path null to start a new run instead.
# Submit from the repository root, with the dataset downloaded beforehand (rank 0 downloading while the
# others wait can exceed ddp_litlab's 10-minute peer timeout).
#SBATCH --job-name=litlab
#SBATCH --nodes=2
#SBATCH --gpus-per-node=4
#SBATCH --ntasks-per-node=4
#SBATCH --cpus-per-task=8
#SBATCH --mem=0
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --output=slurm-%j.out

set -euo pipefail
CONFIG=${1:-configs/cifar10_cnn.yaml}
shift $(( $# > 0 ? 1 : 0 ))

srun .venv/bin/litlab fit \
  --config "$CONFIG" \
  --config configs/trainer/gpu.yaml \
  --config configs/trainer/ddp.yaml \
  --trainer.num_nodes "$SLURM_JOB_NUM_NODES" \
  --trainer.devices "$SLURM_NTASKS_PER_NODE" \
  --ckpt_path last \
  "$@"
