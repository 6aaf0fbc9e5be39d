/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx.h: the few declarations our schedulers need on top of vmlinux.h,
 * written for this example (not libbpf's or scx's headers): a section
 * attribute, the kfuncs we call, and struct_ops argument unpacking.
 *
 * vmlinux.h is generated from the target kernel's BTF at build time
 * (build.sh), so the types and enum constants (SCX_DSQ_GLOBAL,
 * SCX_SLICE_DFL, ...) are those of the kernel the object runs on.
 */
#ifndef CGGUARD_SCX_H
#define CGGUARD_SCX_H

#include "vmlinux.h"

#define SEC(name) __attribute__((section(name), used))

/*
 * Kernel functions (kfuncs) are extern symbols in the .ksyms section; the
 * loader (cilium/ebpf) resolves them by name in the kernel's BTF and checks
 * that these prototypes match.
 */
#define __ksym __attribute__((section(".ksyms")))

/*
 * Queue p on the dispatch queue dsq_id with a time slice in ns; false when
 * the kernel refused (the scheduler is then being disabled with an error).
 *
 * We call the ___v2 flavour by its full name: Linux 7.2's BTF has
 * scx_bpf_dsq_insert, scx_bpf_dsq_insert___v2 and scx_bpf_dsq_insert___v2_impl,
 * and cilium/ebpf v0.22.0 (btf.Spec.AnyTypesByName, whose exact-name filter
 * skips the entry after each one it drops) keeps ___v2_impl as a second
 * match for the plain name ("multiple matching types"); the ___v2 name
 * matches exactly one.
 */
extern bool scx_bpf_dsq_insert___v2(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __ksym;
#define scx_bpf_dsq_insert scx_bpf_dsq_insert___v2

/*
 * The kernel's default CPU choice for a waking task; *is_idle says whether
 * that CPU is idle, in which case the task may go straight to its local DSQ.
 */
extern s32 scx_bpf_select_cpu_dfl(struct task_struct *p, s32 prev_cpu, u64 wake_flags, bool *is_idle) __ksym;

/*
 * A struct_ops program receives its arguments as an array of u64; the
 * verifier types each slot from the ops member's prototype in the kernel's
 * BTF, so arg(ctx, 0) of enqueue is a trusted struct task_struct pointer.
 */
#define arg(ctx, i) ((ctx)[i])

#endif
