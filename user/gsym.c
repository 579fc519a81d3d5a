/* SPDX-License-Identifier: MIT */
/* gsym.c - guest pcs as symbol+offset through QEMU's maps and the guest's ELF files. */
#include "gsym.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procmaps.h"
#include "safeopen.h"

#define HOST_PAGE 4096ull

struct gsym_sym {
	uint64_t start, size;
	uint32_t name; /* offset in the file's name pool */
	uint32_t shndx;
	uint8_t bind_rank; /* 0 global, 1 weak, 2 local */
	uint8_t underscores; /* leading '_' (capped) */
};

struct gsym_seg {
	uint64_t off, filesz, vaddr;
};

struct gsym_sec {
	uint64_t addr, size;
	bool alloc;
};

/* One ELF file (path + inode), parsed on first use. */
struct gsym_elf {
	char *path;
	unsigned long inode;
	int state; /* 0 not tried, 1 parsed, -1 failed (err) */
	char err[128];
	uint16_t machine, type;
	struct gsym_seg *segs;
	size_t nsegs;
	struct gsym_sec *secs;
	size_t nsecs;
	/* sized FUNC/IFUNC, other sized symbols, symbols without size; each by start */
	struct gsym_sym *sym[3];
	size_t nsym[3];
	uint64_t *maxend[2]; /* maxend[k][i]: largest end among sym[k][0..i] */
	char *names;
	size_t names_len, names_cap;
};

enum { SYM_FUNC, SYM_SIZED, SYM_BARE };

struct gsym_map {
	uint64_t start, end, offset;
	unsigned long inode;
	char perms[5];
	char *path; /* NULL: anonymous */
	const char *base;
	struct gsym_elf *elf; /* file-backed ('/') mappings */
};

struct ls_gsym {
	uint64_t guest_base;
	char *root;
	int pid; /* from root "/proc/PID/root", for map_files; -1 if not */
	struct gsym_map *maps;
	size_t nmaps, cap;
	struct gsym_elf **elfs;
	size_t nelfs;
	bool main_known;
	struct gsym_elf *main;
};

/* ---- maps ---- */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s && s[1] ? s + 1 : p;
}

static struct gsym_elf *elf_for(struct ls_gsym *g, const char *path, unsigned long inode)
{
	for (size_t i = 0; i < g->nelfs; i++)
		if (g->elfs[i]->inode == inode && !strcmp(g->elfs[i]->path, path))
			return g->elfs[i];
	struct gsym_elf **ne = realloc(g->elfs, (g->nelfs + 1) * sizeof(*ne));
	if (!ne)
		return NULL;
	g->elfs = ne;
	struct gsym_elf *e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		return NULL;
	}
	e->inode = inode;
	g->elfs[g->nelfs++] = e;
	return e;
}

static int add_map_cb(const struct ls_map *m, void *vctx)
{
	struct ls_gsym *g = vctx;
	struct gsym_map gm;

	memset(&gm, 0, sizeof(gm));
	gm.start = m->start;
	gm.end = m->end;
	gm.offset = m->offset;
	gm.inode = m->inode;
	memcpy(gm.perms, m->perms, sizeof(gm.perms));
	if (m->path) {
		size_t n = m->path_len;
		static const char del[] = " (deleted)";
		while (n && (m->path[n - 1] == ' ' || m->path[n - 1] == '\r'))
			n--;
		if (n > sizeof(del) - 1 && !memcmp(m->path + n - (sizeof(del) - 1), del, sizeof(del) - 1))
			n -= sizeof(del) - 1;
		if (!(gm.path = strndup(m->path, n)))
			return -ENOMEM;
		gm.base = base_name(gm.path);
		if (gm.path[0] == '/' && !(gm.elf = elf_for(g, gm.path, gm.inode))) {
			free(gm.path);
			return -ENOMEM;
		}
	}
	if (g->nmaps == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 64;
		struct gsym_map *nm = realloc(g->maps, nc * sizeof(*nm));
		if (!nm) {
			free(gm.path);
			return -ENOMEM;
		}
		g->maps = nm;
		g->cap = nc;
	}
	g->maps[g->nmaps++] = gm;
	return 0;
}

static int cmp_map(const void *a, const void *b)
{
	const struct gsym_map *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

struct ls_gsym *ls_gsym_new(const char *maps_text, uint64_t guest_base, const char *root_prefix)
{
	struct ls_gsym *g;
	int pid, n = 0;

	if (!maps_text) {
		errno = EINVAL;
		return NULL;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g || !(g->root = strdup(root_prefix ? root_prefix : ""))) {
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	g->guest_base = guest_base;
	g->pid = -1;
	if (sscanf(g->root, "/proc/%d/root%n", &pid, &n) == 1 && n > 0 && !g->root[n] && pid > 0)
		g->pid = pid;
	if (ls_maps_foreach(maps_text, add_map_cb, g, NULL)) {
		ls_gsym_free(g);
		errno = ENOMEM;
		return NULL;
	}
	if (g->nmaps)
		qsort(g->maps, g->nmaps, sizeof(*g->maps), cmp_map);
	return g;
}

static void elf_free(struct gsym_elf *e)
{
	free(e->path);
	free(e->segs);
	free(e->secs);
	for (int k = 0; k < 3; k++)
		free(e->sym[k]);
	free(e->maxend[0]);
	free(e->maxend[1]);
	free(e->names);
	free(e);
}

void ls_gsym_free(struct ls_gsym *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nmaps; i++)
		free(g->maps[i].path);
	for (size_t i = 0; i < g->nelfs; i++)
		elf_free(g->elfs[i]);
	free(g->maps);
	free(g->elfs);
	free(g->root);
	free(g);
}

static const struct gsym_map *find_map(const struct ls_gsym *g, uint64_t host)
{
	size_t lo = 0, hi = g->nmaps;

	while (lo < hi) { /* first mapping starting above host */
		size_t mid = lo + (hi - lo) / 2;
		if (g->maps[mid].start <= host)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && host < g->maps[lo - 1].end)
		return &g->maps[lo - 1];
	return NULL;
}

/* ---- ELF parsing ---- */

/*
 * The guest's files are named by the target (its maps, its root): reached
 * through map_files, or by path only as a regular file, never following a
 * final symlink or waiting on a FIFO (safeopen.h).
 */
static int open_mapped(struct ls_gsym *g, const struct gsym_map *m, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	fd = ls_open_mapped(g->pid, m->start, m->end, g->root, m->path);
	if (fd >= 0)
		return fd;
	/* The process has exited (its /proc/PID/root is gone): the same file from here, if the inode says so. */
	if (g->root[0] && m->inode) {
		int fd2 = ls_open_regular(m->path);
		if (fd2 >= 0) {
			if (fstat(fd2, &st) == 0 && st.st_ino == m->inode)
				return fd2;
			close(fd2);
		}
	}
	snprintf(err, errlen, "cannot open: %s", fd == -ELOOP ? "a symlink (not followed)" :
			      fd == -EINVAL ? "not a regular file" : strerror(-fd));
	return -1;
}

static uint32_t pool_add(struct gsym_elf *e, const char *s)
{
	size_t n = strlen(s) + 1;

	if (e->names_len + n > UINT32_MAX)
		return UINT32_MAX;
	if (e->names_len + n > e->names_cap) {
		size_t nc = e->names_cap ? e->names_cap * 2 : 4096;
		while (nc < e->names_len + n)
			nc *= 2;
		char *np = realloc(e->names, nc);
		if (!np)
			return UINT32_MAX;
		e->names = np;
		e->names_cap = nc;
	}
	memcpy(e->names + e->names_len, s, n);
	e->names_len += n;
	return (uint32_t)(e->names_len - n);
}

static int cmp_sym(const void *a, const void *b)
{
	const struct gsym_sym *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

static uint64_t sat_end(const struct gsym_sym *s)
{
	return s->start + s->size < s->start ? UINT64_MAX : s->start + s->size;
}

/* Symbols of one table into e->sym[]; 0, or -1 with err set. */
static int load_symtab(struct gsym_elf *e, Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t cap[3] = { 0, 0, 0 };

	if (!data || !sh->sh_entsize)
		return 0;
	size_t n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 1; i < n && i <= INT32_MAX; i++) {
		GElf_Sym s;
		if (!gelf_getsym(data, (int)i, &s))
			break; /* truncated table: keep what was read */
		int type = GELF_ST_TYPE(s.st_info), k;
		if (s.st_shndx == SHN_UNDEF || s.st_shndx >= SHN_LORESERVE)
			continue; /* undefined, absolute, common, extended index: not code locations */
		if (type == STT_FUNC || type == STT_GNU_IFUNC)
			k = s.st_size ? SYM_FUNC : SYM_BARE;
		else if (type == STT_OBJECT || type == STT_NOTYPE)
			k = s.st_size ? SYM_SIZED : SYM_BARE;
		else
			continue; /* sections, files, TLS offsets */
		const char *name = elf_strptr(elf, sh->sh_link, s.st_name);
		/* "$x", "$d", "$a", "$t": ARM and AArch64 mapping symbols, not names */
		if (!name || !name[0] || name[0] == '$' || !strncmp(name, ".L", 2))
			continue;
		if (e->machine == EM_ARM && (type == STT_FUNC || type == STT_GNU_IFUNC))
			s.st_value &= ~1ull; /* Thumb bit */
		if (e->nsym[k] == cap[k]) {
			size_t nc = cap[k] ? cap[k] * 2 : 256;
			struct gsym_sym *ns = realloc(e->sym[k], nc * sizeof(*ns));
			if (!ns)
				goto nomem;
			e->sym[k] = ns;
			cap[k] = nc;
		}
		struct gsym_sym *d = &e->sym[k][e->nsym[k]];
		d->start = s.st_value;
		d->size = s.st_size;
		d->shndx = s.st_shndx;
		int bind = GELF_ST_BIND(s.st_info);
		d->bind_rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
		d->underscores = 0;
		while (d->underscores < 4 && name[d->underscores] == '_')
			d->underscores++;
		if ((d->name = pool_add(e, name)) == UINT32_MAX)
			goto nomem;
		e->nsym[k]++;
	}
	return 0;
nomem:
	snprintf(e->err, sizeof(e->err), "out of memory reading symbols");
	return -1;
}

static void elf_parse(struct ls_gsym *g, const struct gsym_map *m, struct gsym_elf *e)
{
	Elf *elf = NULL;
	GElf_Ehdr eh;
	size_t nph, nsh;
	int fd;

	e->state = -1;
	fd = open_mapped(g, m, e->err, sizeof(e->err));
	if (fd < 0)
		return;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		snprintf(e->err, sizeof(e->err), "not an ELF file");
		goto out;
	}
	e->machine = eh.e_machine;
	e->type = eh.e_type;
	if (elf_getphdrnum(elf, &nph) || !nph || nph > 65535) {
		snprintf(e->err, sizeof(e->err), "ELF without program headers");
		goto out;
	}
	if (!(e->segs = calloc(nph, sizeof(*e->segs))))
		goto nomem;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			e->segs[e->nsegs++] = (struct gsym_seg){ ph.p_offset, ph.p_filesz, ph.p_vaddr };
	}
	if (!e->nsegs) {
		snprintf(e->err, sizeof(e->err), "ELF without PT_LOAD segments");
		goto out;
	}
	e->state = 1; /* usable from here: symbols are optional */
	if (elf_getshdrnum(elf, &nsh) || !nsh || nsh > (1u << 20))
		goto out; /* no sections (sstripped): no symbols */
	if (!(e->secs = calloc(nsh, sizeof(*e->secs))))
		goto nomem;
	e->nsecs = nsh;
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	GElf_Shdr sym_sh, dyn_sh;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		size_t idx = elf_ndxscn(scn);
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (idx < nsh)
			e->secs[idx] = (struct gsym_sec){ sh.sh_addr, sh.sh_size, (sh.sh_flags & SHF_ALLOC) != 0 };
		if (sh.sh_type == SHT_SYMTAB && !symtab) {
			symtab = scn;
			sym_sh = sh;
		} else if (sh.sh_type == SHT_DYNSYM && !dynsym) {
			dynsym = scn;
			dyn_sh = sh;
		}
	}
	if (symtab && load_symtab(e, elf, symtab, &sym_sh))
		goto fail;
	if (!e->nsym[0] && !e->nsym[1] && !e->nsym[2] && dynsym && load_symtab(e, elf, dynsym, &dyn_sh))
		goto fail;
	for (int k = 0; k < 3; k++)
		if (e->nsym[k])
			qsort(e->sym[k], e->nsym[k], sizeof(*e->sym[k]), cmp_sym);
	for (int k = 0; k < 2; k++) {
		if (!e->nsym[k])
			continue;
		if (!(e->maxend[k] = malloc(e->nsym[k] * sizeof(uint64_t))))
			goto nomem;
		uint64_t mx = 0;
		for (size_t i = 0; i < e->nsym[k]; i++) {
			uint64_t end = sat_end(&e->sym[k][i]);
			mx = end > mx ? end : mx;
			e->maxend[k][i] = mx;
		}
	}
	goto out;
nomem:
	snprintf(e->err, sizeof(e->err), "out of memory reading the ELF file");
fail:
	e->state = -1;
	for (int k = 0; k < 3; k++) {
		free(e->sym[k]);
		e->sym[k] = NULL;
		e->nsym[k] = 0;
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
}

/* File offset to link-time address: the PT_LOAD holding it, else the one whose pages do. */
static int off_to_vaddr(const struct gsym_elf *e, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct gsym_seg *s = &e->segs[i];
		if (off >= s->off && off - s->off < s->filesz) {
			*vaddr = s->vaddr + (off - s->off);
			return 0;
		}
	}
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct gsym_seg *s = &e->segs[i];
		uint64_t lo = s->off & ~(HOST_PAGE - 1), hi = (s->off + s->filesz + HOST_PAGE - 1) & ~(HOST_PAGE - 1);
		if (off >= lo && off < hi) {
			*vaddr = s->vaddr + (off - s->off); /* wraps back below vaddr for off < s->off */
			return 0;
		}
	}
	return -1;
}

/* Which of two symbols at the same place reads better: "write" over "__libc_write", global over local. */
static bool better(const struct gsym_elf *e, const struct gsym_sym *a, const struct gsym_sym *b)
{
	if (a->underscores != b->underscores)
		return a->underscores < b->underscores;
	if (a->bind_rank != b->bind_rank)
		return a->bind_rank < b->bind_rank;
	size_t la = strlen(e->names + a->name), lb = strlen(e->names + b->name);
	if (la != lb)
		return la < lb;
	return strcmp(e->names + a->name, e->names + b->name) < 0;
}

/* Number of symbols of v starting at or below a. */
static size_t upper(const struct gsym_sym *v, size_t n, uint64_t a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The innermost sized symbol containing a (latest start, then smallest, then best name). */
static const struct gsym_sym *find_sized(const struct gsym_elf *e, int k, uint64_t a)
{
	const struct gsym_sym *v = e->sym[k], *best = NULL;

	for (size_t i = upper(v, e->nsym[k], a); i-- > 0;) {
		if (e->maxend[k][i] <= a || (best && v[i].start != best->start))
			break;
		if (a - v[i].start >= v[i].size)
			continue;
		if (!best || v[i].size < best->size || (v[i].size == best->size && better(e, &v[i], best)))
			best = &v[i];
	}
	return best;
}

/* The nearest symbol without size at or below a, in the same section as a. */
static const struct gsym_sym *find_bare(const struct gsym_elf *e, uint64_t a)
{
	const struct gsym_sym *v = e->sym[SYM_BARE], *best = NULL;
	size_t i = upper(v, e->nsym[SYM_BARE], a);

	if (!i)
		return NULL;
	uint64_t start = v[i - 1].start;
	for (; i-- > 0 && v[i].start == start;)
		if (!best || better(e, &v[i], best))
			best = &v[i];
	if (best->shndx >= e->nsecs)
		return NULL;
	const struct gsym_sec *sec = &e->secs[best->shndx];
	if (!sec->alloc || a < sec->addr || a - sec->addr >= sec->size)
		return NULL;
	return best;
}

/* ---- main program ---- */

static bool host_exec(const struct ls_gsym *g, const struct gsym_elf *e)
{
	for (size_t i = 0; i < g->nmaps; i++)
		if (g->maps[i].elf == e && g->maps[i].perms[2] == 'x')
			return true;
	return false;
}

static struct gsym_elf *main_elf(struct ls_gsym *g)
{
	if (!g->main_known) {
		g->main_known = true;
		for (size_t i = 0; i < g->nmaps && !g->main; i++) {
			const struct gsym_map *m = &g->maps[i];
			if (m->elf && m->start >= g->guest_base && !host_exec(g, m->elf))
				g->main = m->elf;
		}
	}
	return g->main;
}

const char *ls_gsym_main_path(struct ls_gsym *g)
{
	struct gsym_elf *e = g ? main_elf(g) : NULL;
	return e ? e->path : NULL;
}

int ls_gsym_set_main(struct ls_gsym *g, const char *path)
{
	if (!g || !path)
		return -EINVAL;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < g->nmaps; i++) {
			const struct gsym_map *m = &g->maps[i];
			if (!m->elf || m->start < g->guest_base)
				continue;
			if (pass == 0 ? !strcmp(m->path, path) : !strcmp(m->base, base_name(path))) {
				g->main = m->elf;
				g->main_known = true;
				return 0;
			}
		}
	return -ENOENT;
}

uint16_t ls_gsym_main_machine(struct ls_gsym *g)
{
	struct gsym_elf *e = g ? main_elf(g) : NULL;

	if (!e)
		return 0;
	if (!e->state)
		for (size_t i = 0; i < g->nmaps; i++)
			if (g->maps[i].elf == e) {
				elf_parse(g, &g->maps[i], e);
				break;
			}
	return e->machine; /* 0 when the file could not be read */
}

/* ---- lookup and format ---- */

int ls_gsym_lookup(struct ls_gsym *g, uint64_t pc, struct ls_gsym_loc *out)
{
	if (!g || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	uint64_t host = pc + g->guest_base;
	const struct gsym_map *m = find_map(g, host);
	if (!m) {
		out->kind = LS_GSYM_UNMAPPED;
		return 0;
	}
	out->map_off = host - m->start;
	if (!m->path) {
		out->kind = LS_GSYM_ANON;
		return 0;
	}
	out->path = m->path;
	out->file = m->base;
	if (!m->elf) {
		out->kind = LS_GSYM_PSEUDO;
		return 0;
	}
	struct gsym_elf *e = m->elf;
	out->file_off = m->offset + out->map_off;
	out->is_main = e == main_elf(g);
	if (!e->state)
		elf_parse(g, m, e);
	if (e->state < 0 || off_to_vaddr(e, out->file_off, &out->elf_vaddr)) {
		out->kind = LS_GSYM_NOT_ELF;
		out->elf_err = e->state < 0 ? e->err : "offset outside every PT_LOAD segment";
		return 0;
	}
	uint64_t a = out->elf_vaddr;
	const struct gsym_sym *s = NULL;
	if (e->nsym[SYM_FUNC])
		s = find_sized(e, SYM_FUNC, a);
	if (!s && e->nsym[SYM_SIZED])
		s = find_sized(e, SYM_SIZED, a);
	out->kind = LS_GSYM_SYMBOL;
	if (!s && e->nsym[SYM_BARE] && (s = find_bare(e, a)) != NULL)
		out->kind = LS_GSYM_NEAREST;
	if (!s) {
		out->kind = LS_GSYM_NO_SYMBOL;
		return 0;
	}
	out->sym = e->names + s->name;
	out->sym_off = a - s->start;
	out->sym_size = s->size;
	return 1;
}

/* Copy s into dst as at most room characters, cut in the middle when longer; returns the length. */
static size_t fit(char *dst, size_t room, const char *s)
{
	size_t n = strlen(s), o = 0;

	if (n <= room) {
		for (size_t i = 0; i < n; i++)
			dst[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	} else if (room < 8) {
		for (size_t i = 0; i < room; i++)
			dst[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	} else {
		size_t head = (room - 3) * 2 / 3, tail = room - 3 - head;
		for (size_t i = 0; i < head; i++)
			dst[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
		memcpy(dst + o, "...", 3);
		o += 3;
		for (size_t i = n - tail; i < n; i++)
			dst[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	}
	dst[o] = 0;
	return o;
}

int ls_gsym_format(struct ls_gsym *g, uint64_t pc, char *buf, size_t len)
{
	struct ls_gsym_loc l;
	const char *file = NULL, *name = NULL;
	char suffix[64] = "";
	int rc;

	if (!buf || !len)
		return -EINVAL;
	buf[0] = 0;
	if ((rc = ls_gsym_lookup(g, pc, &l)) < 0)
		return rc;
	switch (l.kind) {
	case LS_GSYM_SYMBOL:
	case LS_GSYM_NEAREST:
		file = l.is_main ? NULL : l.file;
		name = l.sym;
		if (l.sym_off)
			snprintf(suffix, sizeof(suffix), "+0x%llx", (unsigned long long)l.sym_off);
		if (l.kind == LS_GSYM_NEAREST)
			strcat(suffix, " (nearest)");
		break;
	case LS_GSYM_NO_SYMBOL:
		name = l.file;
		snprintf(suffix, sizeof(suffix), "+0x%llx (no symbol)", (unsigned long long)l.elf_vaddr);
		break;
	case LS_GSYM_NOT_ELF:
		name = l.file;
		snprintf(suffix, sizeof(suffix), "+0x%llx (not ELF)", (unsigned long long)l.file_off);
		break;
	case LS_GSYM_PSEUDO:
		name = l.path;
		if (l.map_off)
			snprintf(suffix, sizeof(suffix), "+0x%llx", (unsigned long long)l.map_off);
		break;
	case LS_GSYM_ANON:
		name = "[anonymous memory]";
		break;
	default:
		name = "unmapped";
		break;
	}
	size_t avail = len - 1, slen = strlen(suffix);
	size_t flen = file ? strlen(file) + 1 : 0, nlen = strlen(name);
	if (slen + (file ? 2 : 0) + 1 > avail) { /* not even room for the offset: plain cut */
		snprintf(buf, len, "%s%s%s%s", file ? file : "", file ? ":" : "", name, suffix);
		return rc;
	}
	size_t budget = avail - slen, o = 0;
	if (file) { /* "file:" gets what the name leaves, at least a third of the room when both are long */
		size_t froom = nlen < budget ? budget - nlen : 0;
		if (froom < budget / 3)
			froom = budget / 3;
		if (froom > flen)
			froom = flen;
		if (froom < 2)
			froom = 2;
		o = fit(buf, froom - 1, file);
		buf[o++] = ':';
	}
	o += fit(buf + o, budget - o, name);
	memcpy(buf + o, suffix, slen + 1);
	return rc;
}
