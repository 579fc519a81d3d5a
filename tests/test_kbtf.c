// SPDX-License-Identifier: MIT
/*
 * test_kbtf.c - the kernel BTF cut (kbtf.c): what it keeps is what libbpf
 * reads in the whole file, on made-up BTF and on the running kernel's; bad
 * files are refused with a reason.
 */
#include <bpf/btf.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kbtf.h"

static const char *const VMLINUX = "/sys/kernel/btf/vmlinux";

/* BTF with struct a { int x; my_int y; struct b *p; int arr[4]; }, struct b, enum e, struct zzz. */
static struct btf *sample(void)
{
	struct btf *b = btf__new_empty();
	cr_assert(b);
	int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED); /* 1 */
	int td = btf__add_typedef(b, "my_int", i); /* 2 */
	int sb = btf__add_struct(b, "b", 8); /* 3 */
	cr_assert(btf__add_field(b, "lo", i, 0, 0) == 0);
	cr_assert(btf__add_field(b, "hi", td, 32, 0) == 0);
	int pb = btf__add_ptr(b, sb); /* 4 */
	int arr = btf__add_array(b, i, i, 4); /* 5 */
	int sa = btf__add_struct(b, "a", 40); /* 6 */
	cr_assert(btf__add_field(b, "x", i, 0, 0) == 0);
	cr_assert(btf__add_field(b, "y", td, 32, 0) == 0);
	cr_assert(btf__add_field(b, "p", pb, 64, 0) == 0);
	cr_assert(btf__add_field(b, "arr", arr, 128, 0) == 0);
	int e = btf__add_enum(b, "e", 4); /* 7 */
	cr_assert(btf__add_enum_value(b, "E1", 1) == 0);
	int z = btf__add_struct(b, "zzz", 4); /* 8 */
	cr_assert(btf__add_field(b, "q", i, 0, 0) == 0);
	cr_assert(td > 0 && sb > 0 && pb > 0 && arr > 0 && sa > 0 && e > 0 && z > 0);
	return b;
}

static const void *raw_of(struct btf *b, size_t *len)
{
	__u32 n;
	const void *raw = btf__raw_data(b, &n);
	cr_assert(raw);
	*len = n;
	return raw;
}

/* Type name and kind, member by member, of struct `name` in both: the same. */
static void same_struct(const struct btf *x, const struct btf *y, const char *name)
{
	int ix = btf__find_by_name_kind(x, name, BTF_KIND_STRUCT);
	int iy = btf__find_by_name_kind(y, name, BTF_KIND_STRUCT);
	cr_assert(ix > 0 && iy > 0, "struct %s: %d, %d", name, ix, iy);
	const struct btf_type *tx = btf__type_by_id(x, ix), *ty = btf__type_by_id(y, iy);
	cr_assert_eq(tx->size, ty->size);
	cr_assert_eq(btf_vlen(tx), btf_vlen(ty));
	const struct btf_member *mx = btf_members(tx), *my = btf_members(ty);
	for (int k = 0; k < btf_vlen(tx); k++) {
		cr_assert_str_eq(btf__name_by_offset(x, mx[k].name_off), btf__name_by_offset(y, my[k].name_off));
		cr_assert_eq(mx[k].offset, my[k].offset);
		const struct btf_type *ax = btf__type_by_id(x, mx[k].type), *ay = btf__type_by_id(y, my[k].type);
		cr_assert_eq(btf_kind(ax), btf_kind(ay), "%s member %d", name, k);
		cr_assert_str_eq(btf__name_by_offset(x, ax->name_off), btf__name_by_offset(y, ay->name_off));
	}
}

Test(kbtf, keeps_the_named_struct_and_all_it_reaches)
{
	struct btf *b = sample();
	size_t len, outlen;
	const void *raw = raw_of(b, &len);
	const char *names[] = { "a", "ls_batch" /* ours: not in the input */ };
	void *out;
	char why[256] = "";

	int n = ls_kbtf_cut(raw, len, names, 2, &out, &outlen, why, sizeof(why));
	cr_assert_eq(n, 6, "%d types (%s)", n, why); /* a, int, my_int, ptr, array, b */
	struct btf *cut = btf__new(out, outlen);
	cr_assert(cut, "libbpf refuses the cut");
	cr_assert_eq(btf__type_cnt(cut), 7);
	same_struct(b, cut, "a");
	same_struct(b, cut, "b");
	cr_assert_lt(btf__find_by_name_kind(cut, "zzz", BTF_KIND_STRUCT), 0, "an unnamed struct came along");
	cr_assert_lt(btf__find_by_name_kind(cut, "e", BTF_KIND_ENUM), 0);
	/* The pointer still points at b, the array still holds four ints. */
	const struct btf_type *a = btf__type_by_id(cut, btf__find_by_name_kind(cut, "a", BTF_KIND_STRUCT));
	const struct btf_type *p = btf__type_by_id(cut, btf_members(a)[2].type);
	cr_assert(btf_is_ptr(p));
	cr_assert_str_eq(btf__name_by_offset(cut, btf__type_by_id(cut, p->type)->name_off), "b");
	const struct btf_type *arr = btf__type_by_id(cut, btf_members(a)[3].type);
	cr_assert(btf_is_array(arr));
	cr_assert_eq(btf_array(arr)->nelems, 4);
	btf__free(cut);
	free(out);
	btf__free(b);
}

Test(kbtf, a_core_flavor_suffix_names_the_same_struct)
{
	struct btf *b = sample();
	size_t len, outlen;
	const void *raw = raw_of(b, &len);
	const char *names[] = { "b___v2" };
	void *out;
	char why[256];

	cr_assert_eq(ls_kbtf_cut(raw, len, names, 1, &out, &outlen, why, sizeof(why)), 3); /* b, int, my_int */
	free(out);
	btf__free(b);
}

Test(kbtf, no_named_struct_is_zero_not_an_error)
{
	struct btf *b = sample();
	size_t len, outlen;
	const void *raw = raw_of(b, &len);
	const char *names[] = { "nothere", "my_int" /* a typedef, not a struct */ };
	void *out;
	char why[256];

	cr_assert_eq(ls_kbtf_cut(raw, len, names, 2, &out, &outlen, why, sizeof(why)), 0);
	cr_assert_null(out);
	btf__free(b);
}

/* A copy of the sample's raw bytes to spoil. */
static unsigned char *spoilable(size_t *len)
{
	struct btf *b = sample();
	const void *raw = raw_of(b, len);
	unsigned char *c = malloc(*len);
	memcpy(c, raw, *len);
	btf__free(b);
	return c;
}

static void refused(const unsigned char *raw, size_t len, const char *why_part)
{
	const char *names[] = { "a" };
	void *out;
	size_t outlen;
	char why[256] = "";

	cr_assert_eq(ls_kbtf_cut(raw, len, names, 1, &out, &outlen, why, sizeof(why)), -1, "accepted");
	cr_assert(strstr(why, why_part), "why: '%s', expected '%s'", why, why_part);
	cr_assert_null(out);
}

Test(kbtf, bad_files_are_refused_with_a_reason)
{
	size_t len;
	unsigned char *c = spoilable(&len);
	struct btf_header h;

	memcpy(&h, c, sizeof(h));
	refused(c, 10, "shorter than a BTF header");
	refused(c, len - 5, "do not fit"); /* strings cut short */

	unsigned char *d = spoilable(&len);
	d[0] ^= 0xff;
	refused(d, len, "no BTF magic");
	free(d);

	d = spoilable(&len);
	struct btf_header hh = h;
	hh.type_len = h.type_len - 4; /* the last type's data is cut off */
	memcpy(d, &hh, sizeof(hh));
	refused(d, len, "cut off");
	free(d);

	/* Type 1 (int) made kind 31. */
	d = spoilable(&len);
	__u32 info;
	memcpy(&info, d + h.hdr_len + h.type_off + 4, 4);
	info = (info & ~(0x1fu << 24)) | (31u << 24);
	memcpy(d + h.hdr_len + h.type_off + 4, &info, 4);
	refused(d, len, "kind 31");
	free(d);

	/* my_int (type 2, right after int's 16 bytes) pointing at type 999. */
	d = spoilable(&len);
	__u32 bad = 999;
	memcpy(d + h.hdr_len + h.type_off + 16 + 8, &bad, 4);
	refused(d, len, "beyond");
	free(d);
	free(c);
}

/* The running kernel's: libbpf's CO-RE would find the same pt_regs in the cut as in the whole. */
Test(kbtf, the_kernels_pt_regs_as_libbpf_reads_it)
{
	if (access(VMLINUX, R_OK))
		cr_skip_test("%s is not readable here", VMLINUX);
	const char *names[] = { "pt_regs", "ls_batch" };
	char why[256] = "", path[64];
	int ncut;
	int fd = ls_kbtf_memfd(VMLINUX, names, 2, &ncut, why, sizeof(why));
	if (fd < 0 && strstr(why, "cannot map"))
		cr_skip_test("%s (kernels before 6.16 cannot map their BTF: the monitor lets libbpf read it)", why);
	cr_assert_geq(fd, 0, "%s", why);
	cr_assert_gt(ncut, 1);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct btf *cut = btf__parse(path, NULL), *whole = btf__load_vmlinux_btf();
	cr_assert(cut && whole);
	cr_assert_eq(btf__type_cnt(cut), (__u32)ncut + 1);
	same_struct(whole, cut, "pt_regs");
	btf__free(cut);
	btf__free(whole);
	close(fd);
}
