// SPDX-License-Identifier: GPL-2.0
/*
 * cgguard_stall: a broken scheduler, for testing what happens around one.
 * It takes only tasks whose policy is SCHED_EXT (SCX_OPS_SWITCH_PARTIAL),
 * and never queues them: they stay runnable and never run, until the
 * kernel's watchdog notices a task runnable for longer than timeout_ms and
 * disables the scheduler (exit kind SCX_EXIT_ERROR_STALL). Every other task
 * of the system keeps the fair scheduler, so the test itself runs on.
 */
#include "scx.h"

char _license[] SEC("license") = "GPL";

/*
 * Keep the waking task's CPU without queueing it: without a select_cpu the
 * kernel's default would queue a task waking onto an idle CPU itself.
 */
SEC("struct_ops/stall_select_cpu")
s32 stall_select_cpu(u64 *ctx)
{
	return (s32)arg(ctx, 1);
}

/* Drop the task: it is never inserted into a dispatch queue. */
SEC("struct_ops/stall_enqueue")
void stall_enqueue(u64 *ctx)
{
}

u64 exit_kind;

SEC("struct_ops/stall_exit")
void stall_exit(u64 *ctx)
{
	struct scx_exit_info *ei = (struct scx_exit_info *)arg(ctx, 0);

	exit_kind = ei->kind;
}

/*
 * SCX_OPS_ENQ_LAST: without it, the kernel keeps running a task whose
 * slice ran out when nothing else wants its CPU, without asking
 * enqueue, so a workload alone on its CPU was never held and died at
 * once when killed; the stall tests then failed now and then.
 */
SEC(".struct_ops.link")
struct sched_ext_ops stall_ops = {
	.select_cpu = (void *)stall_select_cpu,
	.enqueue = (void *)stall_enqueue,
	.exit = (void *)stall_exit,
	.flags = SCX_OPS_SWITCH_PARTIAL | SCX_OPS_ENQ_LAST,
	/* Short, so a test sees the watchdog act within its teardown budget. */
	.timeout_ms = 3000,
	.name = "cgguard_stall",
};
