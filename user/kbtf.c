// SPDX-License-Identifier: MIT
/*
 * kbtf.c - cutting the structs our CO-RE relocations use out of the
 * kernel's BTF (kbtf.h says why).  Reads the raw format of
 * Documentation/bpf/btf.rst: a header, then type records (each a struct
 * btf_type followed by kind-specific data), then the strings.  Every read
 * is bounds-checked: the input is a file.
 */
#include "kbtf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct raw {
	const uint8_t *types, *strs;
	size_t tlen, slen;
	uint32_t *off; /* off[id]: where type id starts in types (id 0 is void) */
	uint32_t n; /* ids 1..n-1 */
};

static int whyf(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v)); /* the file promises 4-byte alignment; do not rely on it */
	return v;
}

/* Bytes of kind-specific data after the struct btf_type, or -1 for a kind this code does not know. */
static long extra_size(uint32_t kind, uint32_t vlen)
{
	switch (kind) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return (long)vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (long)vlen * sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO:
		return (long)vlen * sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return (long)vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_ENUM64:
		return (long)vlen * sizeof(struct btf_enum64);
	default:
		return -1;
	}
}

static int parse(struct raw *r, const uint8_t *p, size_t len, char *why, size_t whylen)
{
	struct btf_header h;
	size_t cap = 0;

	memset(r, 0, sizeof(*r));
	if (len < sizeof(h))
		return whyf(why, whylen, "the file is %zu bytes, shorter than a BTF header", len);
	memcpy(&h, p, sizeof(h));
	if (h.magic != BTF_MAGIC)
		return whyf(why, whylen, "no BTF magic (0x%04x%s)", h.magic,
			    h.magic == 0x9feb ? ": the other byte order" : "");
	if (h.version != BTF_VERSION)
		return whyf(why, whylen, "BTF version %u (this code reads %u)", h.version, BTF_VERSION);
	if (h.hdr_len < sizeof(h) || h.hdr_len > len)
		return whyf(why, whylen, "BTF header length %u does not fit the %zu-byte file", h.hdr_len, len);
	size_t body = len - h.hdr_len;
	if (h.type_off > body || h.type_len > body - h.type_off || h.str_off > body || h.str_len > body - h.str_off ||
	    h.str_len == 0 || (h.type_off | h.type_len) % 4)
		return whyf(why, whylen, "BTF sections (types %u+%u, strings %u+%u) do not fit the file", h.type_off,
			    h.type_len, h.str_off, h.str_len);
	r->types = p + h.hdr_len + h.type_off;
	r->tlen = h.type_len;
	r->strs = p + h.hdr_len + h.str_off;
	r->slen = h.str_len;
	if (r->strs[r->slen - 1] != '\0')
		return whyf(why, whylen, "the BTF string section does not end in a NUL");

	r->n = 1;
	for (size_t pos = 0; pos < r->tlen;) {
		if (r->tlen - pos < sizeof(struct btf_type))
			return whyf(why, whylen, "type %u is cut off at the end of the type section", r->n);
		uint32_t info = rd32(r->types + pos + 4);
		long extra = extra_size(BTF_INFO_KIND(info), BTF_INFO_VLEN(info));
		if (extra < 0)
			return whyf(why, whylen, "type %u has kind %u, which this code does not know", r->n,
				    BTF_INFO_KIND(info));
		if ((size_t)extra > r->tlen - pos - sizeof(struct btf_type))
			return whyf(why, whylen, "type %u is cut off at the end of the type section", r->n);
		if (r->n >= cap) {
			size_t ncap = cap ? 2 * cap : 1 << 16;
			uint32_t *o = realloc(r->off, ncap * sizeof(*o));
			if (!o)
				return whyf(why, whylen, "out of memory");
			r->off = o;
			cap = ncap;
		}
		r->off[r->n++] = (uint32_t)pos;
		pos += sizeof(struct btf_type) + (size_t)extra;
	}
	return 0;
}

/* The length of want without a CO-RE flavor suffix ("___" and what follows): libbpf matches on that. */
static size_t essential_len(const char *want)
{
	const char *flavor = strstr(want, "___");

	return flavor ? (size_t)(flavor - want) : strlen(want);
}

struct out {
	uint8_t *types;
	size_t tlen, tcap;
	char *strs;
	size_t slen, scap;
	bool oom;
};

static void put(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n, bool *oom)
{
	if (*oom)
		return;
	if (*len + n > *cap) {
		size_t ncap = *cap ? *cap : 256;
		while (ncap < *len + n)
			ncap *= 2;
		uint8_t *b = realloc(*buf, ncap);
		if (!b) {
			*oom = true;
			return;
		}
		*buf = b;
		*cap = ncap;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
}

static void put32(struct out *o, uint32_t v)
{
	put(&o->types, &o->tlen, &o->tcap, &v, sizeof(v), &o->oom);
}

/* The string at off of the input, added to the output's strings: its new offset. */
static uint32_t put_str(struct out *o, const struct raw *r, uint32_t off)
{
	const char *s = off < r->slen ? (const char *)r->strs + off : "";
	uint32_t at = (uint32_t)o->slen;

	if (!*s)
		return 0; /* the output starts with the empty string */
	put((uint8_t **)&o->strs, &o->slen, &o->scap, s, strlen(s) + 1, &o->oom);
	return at;
}

/* Whether the u32 in the btf_type's size/type slot is a type id for this kind. */
static bool slot_is_type(uint32_t kind)
{
	switch (kind) {
	case BTF_KIND_PTR:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
	case BTF_KIND_FUNC:
	case BTF_KIND_FUNC_PROTO:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return true;
	default:
		return false;
	}
}

/*
 * Visits the type ids type t refers to: fn(ctx, where) for each, where being
 * the offset in t of the u32 holding it.
 */
static void each_ref(const uint8_t *t, void (*fn)(void *ctx, size_t where), void *ctx)
{
	uint32_t info = rd32(t + 4), kind = BTF_INFO_KIND(info), vlen = BTF_INFO_VLEN(info);
	const size_t h = sizeof(struct btf_type);

	if (slot_is_type(kind))
		fn(ctx, 8);
	switch (kind) {
	case BTF_KIND_ARRAY:
		fn(ctx, h + offsetof(struct btf_array, type));
		fn(ctx, h + offsetof(struct btf_array, index_type));
		break;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		for (uint32_t m = 0; m < vlen; m++)
			fn(ctx, h + m * sizeof(struct btf_member) + offsetof(struct btf_member, type));
		break;
	case BTF_KIND_FUNC_PROTO:
		for (uint32_t m = 0; m < vlen; m++)
			fn(ctx, h + m * sizeof(struct btf_param) + offsetof(struct btf_param, type));
		break;
	case BTF_KIND_DATASEC:
		for (uint32_t m = 0; m < vlen; m++)
			fn(ctx, h + m * sizeof(struct btf_var_secinfo) + offsetof(struct btf_var_secinfo, type));
		break;
	default:
		break;
	}
}

/* Whether the u32 at offset `where` of type t is a string offset. */
static bool is_name(const uint8_t *t, size_t where)
{
	uint32_t info = rd32(t + 4), kind = BTF_INFO_KIND(info);
	const size_t h = sizeof(struct btf_type);
	size_t rec;

	if (where == 0)
		return true;
	if (where < h)
		return false;
	switch (kind) {
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		rec = sizeof(struct btf_member);
		break;
	case BTF_KIND_ENUM:
		rec = sizeof(struct btf_enum);
		break;
	case BTF_KIND_ENUM64:
		rec = sizeof(struct btf_enum64);
		break;
	case BTF_KIND_FUNC_PROTO:
		rec = sizeof(struct btf_param);
		break;
	default:
		return false;
	}
	return (where - h) % rec == 0; /* every record of these kinds starts with its name */
}

struct walk {
	const struct raw *r;
	uint32_t *newid; /* newid[old]: 0 = not taken */
	uint32_t *order; /* old ids in new-id order */
	uint32_t n;
	const uint8_t *t; /* the type being looked at */
	bool bad; /* a reference outside the file */
};

static void take(void *ctx, size_t where)
{
	struct walk *w = ctx;
	uint32_t id = rd32(w->t + where);

	if (!id)
		return; /* void */
	if (id >= w->r->n) {
		w->bad = true;
		return;
	}
	if (!w->newid[id]) {
		w->order[w->n] = id;
		w->newid[id] = ++w->n;
	}
}

struct remap {
	const uint8_t *src;
	uint8_t *dst;
	const uint32_t *newid;
};

static void remap(void *ctx, size_t where)
{
	struct remap *m = ctx;
	uint32_t old = rd32(m->src + where), nid = old ? m->newid[old] : 0;

	memcpy(m->dst + where, &nid, sizeof(nid));
}

int ls_kbtf_cut(const void *raw, size_t len, const char *const *names, size_t n, void **out, size_t *outlen,
		char *why, size_t whylen)
{
	struct raw r;
	struct out o = {};
	struct walk w = {};
	size_t *ess = NULL;
	int ret = -1;

	*out = NULL;
	*outlen = 0;
	if (parse(&r, raw, len, why, whylen))
		goto done;
	w.r = &r;
	w.newid = calloc(r.n, sizeof(*w.newid));
	w.order = malloc(r.n * sizeof(*w.order));
	if (!w.newid || !w.order) {
		whyf(why, whylen, "out of memory");
		goto done;
	}
	ess = malloc((n ? n : 1) * sizeof(*ess));
	if (!ess) {
		whyf(why, whylen, "out of memory");
		goto done;
	}
	for (size_t k = 0; k < n; k++)
		ess[k] = essential_len(names[k]);
	/* The named structs and unions ... */
	for (uint32_t id = 1; id < r.n; id++) {
		const uint8_t *t = r.types + r.off[id];
		uint32_t kind = BTF_INFO_KIND(rd32(t + 4));
		if (kind != BTF_KIND_STRUCT && kind != BTF_KIND_UNION)
			continue;
		uint32_t name = rd32(t);
		if (!name || name >= r.slen)
			continue;
		const char *tn = (const char *)r.strs + name;
		for (size_t k = 0; k < n; k++)
			if (ess[k] && tn[0] == names[k][0] && !strncmp(tn, names[k], ess[k]) && tn[ess[k]] == '\0') {
				w.order[w.n] = id;
				w.newid[id] = ++w.n;
				break;
			}
	}
	if (!w.n) {
		ret = 0;
		goto done;
	}
	/* ... and every type they reach (breadth first: order grows while we walk it). */
	for (uint32_t k = 0; k < w.n; k++) {
		w.t = r.types + r.off[w.order[k]];
		each_ref(w.t, take, &w);
	}
	if (w.bad) {
		whyf(why, whylen, "a type refers to a type id beyond the file's %u", r.n - 1);
		goto done;
	}

	/* Copy each type with its type ids and names moved to the new file. */
	put((uint8_t **)&o.strs, &o.slen, &o.scap, "", 1, &o.oom);
	for (uint32_t k = 0; k < w.n; k++) {
		const uint8_t *t = r.types + r.off[w.order[k]];
		uint32_t info = rd32(t + 4);
		size_t size = sizeof(struct btf_type) + (size_t)extra_size(BTF_INFO_KIND(info), BTF_INFO_VLEN(info));
		size_t first = o.tlen / 4;
		for (size_t at = 0; at < size; at += 4)
			put32(&o, is_name(t, at) ? put_str(&o, &r, rd32(t + at)) : rd32(t + at));
		if (o.oom)
			break;
		/* Type ids: the same slots each_ref names, now in our copy. */
		struct remap rm = { t, o.types + first * 4, w.newid };
		each_ref(t, remap, &rm);
	}
	if (o.oom) {
		whyf(why, whylen, "out of memory");
		goto done;
	}
	struct btf_header h = { .magic = BTF_MAGIC, .version = BTF_VERSION, .hdr_len = sizeof(h),
				.type_off = 0, .type_len = (uint32_t)o.tlen, .str_off = (uint32_t)o.tlen,
				.str_len = (uint32_t)o.slen };
	uint8_t *b = malloc(sizeof(h) + o.tlen + o.slen);
	if (!b) {
		whyf(why, whylen, "out of memory");
		goto done;
	}
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), o.types, o.tlen);
	memcpy(b + sizeof(h) + o.tlen, o.strs, o.slen);
	*out = b;
	*outlen = sizeof(h) + o.tlen + o.slen;
	ret = (int)w.n;
done:
	free(o.types);
	free(o.strs);
	free(w.newid);
	free(w.order);
	free(ess);
	free(r.off);
	return ret;
}

int ls_kbtf_memfd(const char *path, const char *const *names, size_t n, int *ncut, char *why, size_t whylen)
{
	struct stat st;
	void *map = MAP_FAILED, *cut = NULL;
	size_t cutlen = 0;
	int fd, mfd = -1;

	*ncut = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return whyf(why, whylen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || st.st_size <= 0) {
		whyf(why, whylen, "%s: no size", path);
		goto done;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		/* Kernels before 6.16 cannot map it. */
		whyf(why, whylen, "cannot map %s: %s", path, strerror(errno));
		goto done;
	}
	int got = ls_kbtf_cut(map, (size_t)st.st_size, names, n, &cut, &cutlen, why, whylen);
	if (got <= 0) {
		if (got == 0)
			whyf(why, whylen, "none of the program's structs is in %s", path);
		goto done;
	}
	if ((mfd = memfd_create("lockstep-kbtf", MFD_CLOEXEC)) < 0) {
		whyf(why, whylen, "memfd_create: %s", strerror(errno));
		goto done;
	}
	for (size_t off = 0; off < cutlen;) {
		ssize_t w = write(mfd, (const uint8_t *)cut + off, cutlen - off);
		if (w <= 0) {
			whyf(why, whylen, "writing the cut BTF: %s", w < 0 ? strerror(errno) : "no progress");
			close(mfd);
			mfd = -1;
			goto done;
		}
		off += (size_t)w;
	}
	*ncut = got;
done:
	free(cut);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return mfd;
}
