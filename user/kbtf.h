/* SPDX-License-Identifier: MIT */
/*
 * kbtf.h - the kernel BTF our CO-RE relocations need, cut from the running
 * kernel's.  libbpf 1.1 reads, copies and indexes all of
 * /sys/kernel/btf/vmlinux (5.5 MB, ~127k types: ~40 ms of CPU here, more
 * than half the monitor's start-up) for the one relocation our program has,
 * against struct pt_regs.  Kernels since 6.16 let that file be mapped; we
 * walk it in place and give libbpf a BTF holding only the structs the
 * program names (bpf_object_open_opts.btf_custom_path), so it resolves the
 * relocations exactly as against the whole file.  No libbpf here: the unit
 * tests check the result against libbpf's own reading.
 */
#ifndef LOCKSTEP_KBTF_H
#define LOCKSTEP_KBTF_H

#include <stddef.h>

/*
 * From the raw BTF in [raw, raw + len), every struct or union named in
 * names[0..n) with all its members, each member's type reduced to the
 * integer it is (through typedefs and qualifiers), as a new raw BTF in
 * *out (malloc'd, *outlen bytes).  Returns how many types were copied
 * (0 when none of the names is there), or -1 with the reason in why: a
 * malformed file, or a named type with a member that is not an integer
 * (pointers, arrays, nested structs are not cut; the caller then lets
 * libbpf read the whole file).
 */
int ls_kbtf_cut(const void *raw, size_t len, const char *const *names, size_t n, void **out, size_t *outlen,
		char *why, size_t whylen);

/*
 * ls_kbtf_cut on the mapped file at path (normally /sys/kernel/btf/vmlinux),
 * written to a memfd: returns the fd (its path is /proc/self/fd/FD), or -1
 * with the reason in why.  *ncut gets how many types it holds.
 */
int ls_kbtf_memfd(const char *path, const char *const *names, size_t n, int *ncut, char *why, size_t whylen);

#endif
