// SPDX-License-Identifier: GPL-2.0
/*
 * cgguard_fifo: the smallest useful sched_ext scheduler. Every runnable
 * task goes into the kernel's global dispatch queue (SCX_DSQ_GLOBAL), which
 * every CPU consumes in FIFO order; a task waking onto an idle CPU skips the
 * queue and goes straight to that CPU's local queue. It runs every task of
 * the system (no SCX_OPS_SWITCH_PARTIAL), as a real scheduler would, so a
 * test running under it exercises sched_ext for real.
 */
#include "scx.h"

char _license[] SEC("license") = "GPL";

SEC("struct_ops/fifo_select_cpu")
s32 fifo_select_cpu(u64 *ctx)
{
	struct task_struct *p = (struct task_struct *)arg(ctx, 0);
	s32 prev_cpu = (s32)arg(ctx, 1);
	u64 wake_flags = arg(ctx, 2);
	bool idle = false;
	s32 cpu;

	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &idle);
	if (idle)
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
	return cpu;
}

SEC("struct_ops/fifo_enqueue")
void fifo_enqueue(u64 *ctx)
{
	struct task_struct *p = (struct task_struct *)arg(ctx, 0);
	u64 enq_flags = arg(ctx, 1);

	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

/* Why the kernel disabled the scheduler (enum scx_exit_kind), for the test. */
u64 exit_kind;

SEC("struct_ops/fifo_exit")
void fifo_exit(u64 *ctx)
{
	struct scx_exit_info *ei = (struct scx_exit_info *)arg(ctx, 0);

	exit_kind = ei->kind;
}

SEC(".struct_ops.link")
struct sched_ext_ops fifo_ops = {
	.select_cpu = (void *)fifo_select_cpu,
	.enqueue = (void *)fifo_enqueue,
	.exit = (void *)fifo_exit,
	.name = "cgguard_fifo",
};
