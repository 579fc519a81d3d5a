/* test_metrics.c - the Prometheus text of a summary, the atomic textfile, listen addresses and the /metrics server. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

/* A server bug must fail the test, not hang the run. */
TestSuite(metrics, .timeout = 20);

static const struct ls_side_desc sides[2] = {
	{ .label = 'A', .pid = 4242, .exe = "/usr/bin/qemu-x86_64", .cmdline = "" },
	{ .label = 'B', .pid = 4243, .exe = "/usr/bin/qemu-x86_64", .cmdline = "" },
};

static struct ls_summary known(void)
{
	struct ls_summary s = {
		.elapsed_s = 12.5,
		.started = true,
		.start_seq = 32768,
		.compared_blocks = 1000000,
		.compared_insns = 9000001,
		.divergences = 1,
		.vcpus = 2,
		.side = {
			{ .published_end = 1100000, .early = 32768, .late = 40000, .pending = 27232, .overruns = 16384,
			  .ended = false, .end_how = "still running" },
			{ .published_end = 1250000, .early = 32769, .late = 5, .pending = 217226, .overruns = 0,
			  .ended = true, .end_how = "exited" },
		},
		.ringbuf_lost = 7,
		.bad_batches = 3,
	};
	return s;
}

static const char *const families[] = {
	"lockstep_elapsed_seconds",
	"lockstep_comparison_started",
	"lockstep_comparison_start_block",
	"lockstep_vcpus",
	"lockstep_blocks_compared_total",
	"lockstep_instructions_compared_total",
	"lockstep_divergences_total",
	"lockstep_blocks_published_total",
	"lockstep_blocks_uncompared_total",
	"lockstep_blocks_unmatched",
	"lockstep_window_overrun_blocks_total",
	"lockstep_lag_blocks",
	"lockstep_side_running",
	"lockstep_events_lost_total",
	"lockstep_bad_batches_total",
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

/* The whole line, not a substring of a longer one. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define assert_line(text, line) cr_assert(has_line(text, line), "missing line:\n[%s]\nin:\n%s", line, text)

static bool valid_name(const char *s, size_t n)
{
	if (!n || !(s[0] == '_' || s[0] == ':' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(s[i] == '_' || s[i] == ':' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* {name="value",...}: returns one past '}', or NULL if malformed. */
static const char *skip_labels(const char *p)
{
	if (*p++ != '{')
		return NULL;
	while (*p != '}') {
		const char *k = p;

		while (*p && *p != '=')
			p++;
		if (!valid_name(k, (size_t)(p - k)) || p[0] != '=' || p[1] != '"')
			return NULL;
		for (p += 2; *p != '"'; p++) {
			if (!*p || *p == '\n')
				return NULL;
			if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == 'n'))
				p++;
			else if (*p == '\\')
				return NULL;
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return NULL;
	}
	return p + 1;
}

/*
 * The text exposition format as Prometheus reads it: each family once, HELP
 * then TYPE then its samples together, counters named _total and never
 * negative, every value a number. Fills names[] with the families in order.
 */
static size_t check_exposition(const char *text, char names[][64], size_t max, unsigned *nsamples)
{
	size_t nf = 0;
	char type[16] = "";
	unsigned in_family = 0;

	*nsamples = 0;
	cr_assert(*text && text[strlen(text) - 1] == '\n', "text must end with a newline:\n%s", text);
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		char line[512];
		size_t n = (size_t)(eol - p);

		cr_assert_lt(n, sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		p = eol + 1;
		cr_assert_gt(n, 0, "empty line in:\n%s", text);
		if (!strncmp(line, "# HELP ", 7)) {
			const char *name = line + 7, *sp = strchr(name, ' ');

			cr_assert(sp && sp[1], "HELP without text: [%s]", line);
			cr_assert(valid_name(name, (size_t)(sp - name)), "bad name: [%s]", line);
			cr_assert(nf == 0 || in_family, "family %s has no samples", names[nf - 1]);
			cr_assert_lt(nf, max);
			memcpy(names[nf], name, (size_t)(sp - name));
			names[nf][sp - name] = '\0';
			for (size_t i = 0; i < nf; i++)
				cr_assert_str_neq(names[i], names[nf], "family %s appears twice", names[nf]);
			nf++;
			in_family = 0;
			/* TYPE must come next, for the same name. */
			eol = strchr(p, '\n');
			cr_assert_not_null(eol);
			cr_assert(sscanf(p, "# TYPE %63s %15s", line, type) == 2, "no TYPE after HELP of %s", names[nf - 1]);
			cr_assert_str_eq(line, names[nf - 1], "TYPE for %s follows HELP for %s", line, names[nf - 1]);
			cr_assert(!strcmp(type, "counter") || !strcmp(type, "gauge"), "type %s", type);
			cr_assert(strcmp(type, "counter") || strstr(names[nf - 1], "_total"), "counter %s without _total",
				  names[nf - 1]);
			p = eol + 1;
			continue;
		}
		cr_assert_neq(line[0], '#', "unexpected comment: [%s]", line);
		cr_assert_gt(nf, 0, "sample before any HELP/TYPE: [%s]", line);
		const char *q = line;
		while (*q && *q != '{' && *q != ' ')
			q++;
		cr_assert(valid_name(line, (size_t)(q - line)), "bad sample name: [%s]", line);
		cr_assert(strlen(names[nf - 1]) == (size_t)(q - line) && !strncmp(line, names[nf - 1], (size_t)(q - line)),
			  "sample [%s] outside its family (current family %s)", line, names[nf - 1]);
		if (*q == '{') {
			q = skip_labels(q);
			cr_assert_not_null(q, "bad labels: [%s]", line);
		}
		cr_assert_eq(*q, ' ', "no value: [%s]", line);
		char *end;
		double v = strtod(q + 1, &end);
		cr_assert(end != q + 1 && *end == '\0', "bad value (or a timestamp): [%s]", line);
		cr_assert(strcmp(type, "counter") || v >= 0, "negative counter: [%s]", line);
		in_family++;
		(*nsamples)++;
	}
	cr_assert(nf == 0 || in_family, "family %s has no samples", names[nf - 1]);
	return nf;
}

static char *format(const struct ls_summary *s, const struct ls_side_desc *d)
{
	static char buf[8192];
	int n = ls_metrics_format(buf, sizeof(buf), s, d);

	cr_assert_gt(n, 0);
	cr_assert_eq((size_t)n, strlen(buf));
	return buf;
}

Test(metrics, format_known_summary)
{
	struct ls_summary s = known();
	const char *text = format(&s, sides);
	char names[32][64];
	unsigned nsamples;
	size_t nf = check_exposition(text, names, 32, &nsamples);

	cr_assert_eq(nf, NFAMILIES, "%zu families in:\n%s", nf, text);
	for (size_t i = 0; i < NFAMILIES; i++) {
		size_t j = 0;

		while (j < nf && strcmp(names[j], families[i]))
			j++;
		cr_assert_lt(j, nf, "family %s missing in:\n%s", families[i], text);
	}
	assert_line(text, "# TYPE lockstep_elapsed_seconds gauge");
	assert_line(text, "# TYPE lockstep_blocks_compared_total counter");
	assert_line(text, "# TYPE lockstep_lag_blocks gauge");
	assert_line(text, "# TYPE lockstep_side_running gauge");

	static const char *const samples[] = {
		"lockstep_elapsed_seconds 12.500000",
		"lockstep_comparison_started 1",
		"lockstep_comparison_start_block 32768",
		"lockstep_vcpus 2",
		"lockstep_blocks_compared_total 1000000",
		"lockstep_instructions_compared_total 9000001",
		"lockstep_divergences_total 1",
		"lockstep_blocks_published_total{side=\"A\",pid=\"4242\"} 1100000",
		"lockstep_blocks_published_total{side=\"B\",pid=\"4243\"} 1250000",
		"lockstep_blocks_uncompared_total{side=\"A\",pid=\"4242\",reason=\"before_start\"} 32768",
		"lockstep_blocks_uncompared_total{side=\"A\",pid=\"4242\",reason=\"after_stop\"} 40000",
		"lockstep_blocks_uncompared_total{side=\"B\",pid=\"4243\",reason=\"before_start\"} 32769",
		"lockstep_blocks_uncompared_total{side=\"B\",pid=\"4243\",reason=\"after_stop\"} 5",
		"lockstep_blocks_unmatched{side=\"A\",pid=\"4242\"} 27232",
		"lockstep_blocks_unmatched{side=\"B\",pid=\"4243\"} 217226",
		"lockstep_window_overrun_blocks_total{side=\"A\",pid=\"4242\"} 16384",
		"lockstep_window_overrun_blocks_total{side=\"B\",pid=\"4243\"} 0",
		"lockstep_lag_blocks -150000",
		"lockstep_side_running{side=\"A\",pid=\"4242\"} 1",
		"lockstep_side_running{side=\"B\",pid=\"4243\"} 0",
		"lockstep_events_lost_total 7",
		"lockstep_bad_batches_total 3",
	};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		assert_line(text, samples[i]);
	cr_assert_eq(nsamples, sizeof(samples) / sizeof(samples[0]), "%u samples in:\n%s", nsamples, text);
}

Test(metrics, format_before_the_start_has_no_start_block)
{
	struct ls_summary s = known();
	char names[32][64];
	unsigned nsamples;

	s.started = false;
	s.start_seq = 0;
	s.side[0].published_end = 10;
	s.side[1].published_end = 3;
	const char *text = format(&s, sides);

	cr_assert_eq(check_exposition(text, names, 32, &nsamples), NFAMILIES - 1, "%s", text);
	cr_assert_null(strstr(text, "lockstep_comparison_start_block"), "%s", text);
	assert_line(text, "lockstep_comparison_started 0");
	assert_line(text, "lockstep_lag_blocks 7");
}

Test(metrics, format_lag_beyond_int64)
{
	struct ls_summary s = known();

	s.side[0].published_end = UINT64_MAX;
	s.side[1].published_end = 0;
	assert_line(format(&s, sides), "lockstep_lag_blocks 18446744073709551615");
	s.side[0].published_end = 0;
	s.side[1].published_end = UINT64_MAX;
	assert_line(format(&s, sides), "lockstep_lag_blocks -18446744073709551615");
	s.side[0].published_end = 5;
	s.side[1].published_end = 5;
	assert_line(format(&s, sides), "lockstep_lag_blocks 0");
}

Test(metrics, format_special_elapsed_values)
{
	struct ls_summary s = known();

	s.elapsed_s = 0.0 / 0.0;
	assert_line(format(&s, sides), "lockstep_elapsed_seconds NaN");
	s.elapsed_s = 1.0 / 0.0;
	assert_line(format(&s, sides), "lockstep_elapsed_seconds +Inf");
}

Test(metrics, format_without_side_descriptions)
{
	struct ls_summary s = known();
	const char *text = format(&s, NULL);
	char names[32][64];
	unsigned nsamples;

	check_exposition(text, names, 32, &nsamples);
	assert_line(text, "lockstep_blocks_published_total{side=\"A\"} 1100000");
	assert_line(text, "lockstep_blocks_uncompared_total{side=\"B\",reason=\"after_stop\"} 5");
	assert_line(text, "lockstep_blocks_unmatched{side=\"B\"} 217226");
	cr_assert_null(strstr(text, "pid="), "%s", text);
}

Test(metrics, format_reports_a_buffer_too_small)
{
	struct ls_summary s = known();
	char full[8192], small[8192];
	int n = ls_metrics_format(full, sizeof(full), &s, sides);

	cr_assert_gt(n, 100);
	for (size_t len = 1; len <= (size_t)n; len++) {
		memset(small, 'x', sizeof(small));
		cr_assert_eq(ls_metrics_format(small, len, &s, sides), -1, "len %zu", len);
		size_t got = strnlen(small, len);
		cr_assert_lt(got, len, "not NUL-terminated with len %zu", len);
		cr_assert(!strncmp(small, full, got), "not a prefix with len %zu", len);
	}
	memset(small, 'x', sizeof(small));
	cr_assert_eq(ls_metrics_format(small, 0, &s, sides), -1);
	cr_assert_eq(small[0], 'x', "len 0 must leave the buffer alone");
	cr_assert_eq(ls_metrics_format(small, (size_t)n + 1, &s, sides), n);
	cr_assert_str_eq(small, full);
}

Test(metrics, escape_label_values)
{
	char buf[64];

	cr_assert_eq(ls_metrics_escape_label(buf, sizeof(buf), "4242"), 4);
	cr_assert_str_eq(buf, "4242");
	cr_assert_eq(ls_metrics_escape_label(buf, sizeof(buf), "a\\b\"c\nd"), 10);
	cr_assert_str_eq(buf, "a\\\\b\\\"c\\nd");
	cr_assert_eq(ls_metrics_escape_label(buf, sizeof(buf), ""), 0);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(ls_metrics_escape_label(buf, sizeof(buf), NULL), 0);
	cr_assert_str_eq(buf, "");
	/* Truncation keeps whole escapes and reports the full length. */
	cr_assert_eq(ls_metrics_escape_label(buf, 3, "a\"b"), 4);
	cr_assert_str_eq(buf, "a");
	cr_assert_eq(ls_metrics_escape_label(buf, 4, "a\"b"), 4);
	cr_assert_str_eq(buf, "a\\\"");
	cr_assert_eq(ls_metrics_escape_label(buf, 5, "a\"b"), 4);
	cr_assert_str_eq(buf, "a\\\"b");
	buf[0] = 'x';
	cr_assert_eq(ls_metrics_escape_label(buf, 0, "abc"), 3);
	cr_assert_eq(buf[0], 'x');
}

/* ---- textfile ---- */

static char dir[64];

static void make_dir(void)
{
	strcpy(dir, "/tmp/ls-metrics-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[384];

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			if (unlink(p))
				rmdir(p); /* the directory a failed rename test left */
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[4096];
	size_t n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The names in dir, sorted, comma-separated. */
static char *list_dir(void)
{
	static char out[1024];
	struct dirent **e;
	int n = scandir(dir, &e, NULL, alphasort);

	cr_assert_geq(n, 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (e[i]->d_name[0] != '.') {
			if (out[0])
				strcat(out, ",");
			strncat(out, e[i]->d_name, sizeof(out) - strlen(out) - 2);
		}
		free(e[i]);
	}
	free(e);
	return out;
}

Test(metrics, textfile_replaces_atomically, .init = make_dir, .fini = remove_dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/lockstep.prom", dir);
	cr_assert_eq(ls_textfile_write(path, "a 1\n"), 0);
	cr_assert_str_eq(slurp(path), "a 1\n");
	cr_assert_str_eq(list_dir(), "lockstep.prom");

	/* A reader that opened the old file keeps reading it whole: replaced, not rewritten in place. */
	int old = open(path, O_RDONLY | O_CLOEXEC);
	char seen[16] = "";
	cr_assert_geq(old, 0);
	cr_assert_eq(ls_textfile_write(path, "b 2\nc 3\n"), 0);
	cr_assert_eq(pread(old, seen, sizeof(seen) - 1, 0), 4);
	close(old);
	cr_assert_str_eq(seen, "a 1\n");
	cr_assert_str_eq(slurp(path), "b 2\nc 3\n");
	cr_assert_eq(ls_textfile_write(path, ""), 0);
	cr_assert_str_eq(slurp(path), "");
	cr_assert_str_eq(list_dir(), "lockstep.prom", "a temporary file was left behind");
}

Test(metrics, textfile_in_a_missing_directory, .init = make_dir, .fini = remove_dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/missing/lockstep.prom", dir);
	cr_assert_eq(ls_textfile_write(path, "a 1\n"), -ENOENT);
	cr_assert_str_eq(list_dir(), "");
}

Test(metrics, textfile_rename_failure_leaves_no_temporary, .init = make_dir, .fini = remove_dir)
{
	char path[128];

	/* A directory in the way: the write succeeds, the rename cannot. */
	snprintf(path, sizeof(path), "%s/lockstep.prom", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_assert_eq(ls_textfile_write(path, "a 1\n"), -EISDIR);
	cr_assert_str_eq(list_dir(), "lockstep.prom");
	rmdir(path);
}

/* ---- listen address ---- */

static void parse_ok(const char *spec, int family, const char *addr, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char err[256] = "", host[64];

	cr_assert_eq(ls_listen_spec_parse(spec, &ss, &len, err, sizeof(err)), 0, "'%s': %s", spec, err);
	cr_assert_eq(ss.ss_family, family, "'%s'", spec);
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		cr_assert_eq(len, sizeof(*a));
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		cr_assert_eq(ntohs(a->sin_port), port, "'%s'", spec);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		cr_assert_eq(len, sizeof(*a));
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		cr_assert_eq(ntohs(a->sin6_port), port, "'%s'", spec);
	}
	cr_assert_str_eq(host, addr, "'%s'", spec);
}

static void parse_bad(const char *spec, const char *why)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256] = "";

	cr_assert_eq(ls_listen_spec_parse(spec, &ss, &len, err, sizeof(err)), -1, "'%s' accepted", spec);
	cr_assert(strstr(err, why), "'%s': message [%s] does not say [%s]", spec, err, why);
}

Test(metrics, listen_spec_good)
{
	parse_ok("9100", AF_INET, "127.0.0.1", 9100);
	parse_ok("127.0.0.1:9100", AF_INET, "127.0.0.1", 9100);
	parse_ok("0.0.0.0:80", AF_INET, "0.0.0.0", 80);
	parse_ok("[::1]:9100", AF_INET6, "::1", 9100);
	parse_ok("[::]:65535", AF_INET6, "::", 65535);
	parse_ok("localhost:0", AF_INET, "127.0.0.1", 0);
	parse_ok("LocalHost:1", AF_INET, "127.0.0.1", 1);
	parse_ok("0", AF_INET, "127.0.0.1", 0);
	parse_ok("10.1.2.3:09100", AF_INET, "10.1.2.3", 9100);
}

Test(metrics, listen_spec_bad)
{
	parse_bad("", "empty listen address");
	parse_bad("abc", "port 'abc' is not a whole number from 0 to 65535");
	parse_bad("70000", "port '70000' is not a whole number from 0 to 65535");
	parse_bad("65536", "65536");
	parse_bad("99999999999999999999", "not a whole number");
	parse_bad("-1", "port '-1' is not a whole number");
	parse_bad("+80", "not a whole number");
	parse_bad("80 ", "not a whole number");
	parse_bad("1.2.3:80", "'1.2.3' is not an IPv4 address, localhost or [IPv6 address]");
	parse_bad("example.com:80", "'example.com' is not an IPv4 address");
	parse_bad("127.0.0.1:", "missing port after ':'");
	parse_bad(":80", "no address before ':' (0.0.0.0:80 listens on all interfaces, 80 on 127.0.0.1)");
	parse_bad(":", "missing address and port");
	parse_bad("::1:80", "an IPv6 address goes in brackets");
	parse_bad("[::1", "missing ']'");
	parse_bad("[::1]", "expected :PORT after ']'");
	parse_bad("[::1]:", "missing port");
	parse_bad("[127.0.0.1]:80", "'127.0.0.1' is not an IPv6 address");
	parse_bad("[::1]:x", "port 'x'");
}

/* ---- HTTP ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s", strerror(errno));
	return fd;
}

/* Responses live until the test's fini, so assertions can point into them (and valgrind sees no leak). */
static char *responses[64];
static unsigned nresponses;

static void free_responses(void)
{
	while (nresponses)
		free(responses[--nresponses]);
}

/* Everything the server sends until it closes (or 5 s pass). */
static char *read_all(int fd)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	cr_assert_not_null(buf);
	cr_assert_lt(nresponses, sizeof(responses) / sizeof(responses[0]), "too many responses in one test");
	responses[nresponses++] = buf;
	while (n < cap - 1 && (r = recv(fd, buf + n, cap - 1 - n, 0)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return buf;
}

static char *exchange(int port, const char *req, size_t len)
{
	int fd = connect_to(port);

	cr_assert_eq(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	char *resp = read_all(fd);
	close(fd);
	return resp;
}

#define http(port, req) exchange(port, req, strlen(req))

struct response {
	char status[64];
	const char *headers; /* from the second line, through the blank line */
	const char *body;
	long content_length;
};

/* Split a response, and check that Content-Length is there and true unless it answers a HEAD. */
static struct response parse_response(const char *resp, bool head)
{
	struct response r = { .content_length = -1 };
	const char *eol = strstr(resp, "\r\n"), *end = strstr(resp, "\r\n\r\n"), *cl;

	cr_assert(eol && end, "not an HTTP response: [%s]", resp);
	snprintf(r.status, sizeof(r.status), "%.*s", (int)(eol - resp), resp);
	r.headers = eol + 2;
	r.body = end + 4;
	cl = strstr(eol, "\r\nContent-Length: ");
	cr_assert(cl && cl < end, "no Content-Length in [%s]", resp);
	r.content_length = strtol(cl + 18, NULL, 10);
	if (head)
		cr_assert_str_eq(r.body, "", "HEAD answered with a body: [%s]", resp);
	else
		cr_assert_eq((size_t)r.content_length, strlen(r.body), "Content-Length %ld for [%s]", r.content_length,
			     r.body);
	return r;
}

static bool has_header(const struct response *r, const char *h)
{
	char want[256];
	const char *end = strstr(r->headers - 2, "\r\n\r\n");
	const char *p;

	snprintf(want, sizeof(want), "\r\n%s\r\n", h);
	p = strstr(r->headers - 2, want);
	return p && p <= end;
}

static struct ls_http *srv;

static void start_server(void)
{
	char err[256] = "";

	srv = ls_http_start("127.0.0.1:0", err, sizeof(err));
	cr_assert_not_null(srv, "%s", err);
	cr_assert_gt(ls_http_port(srv), 0);
}

static void stop_server(void)
{
	ls_http_stop(srv);
	srv = NULL;
	free_responses();
}

/* Each HTTP test gets its own server. */
#define HTTP .init = start_server, .fini = stop_server, .timeout = 20

Test(metrics, http_get_serves_the_body, HTTP)
{
	int port = ls_http_port(srv);
	char addr[64];

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	cr_assert_str_eq(ls_http_addr(srv), addr);

	/* Before any body is set: an empty, valid scrape. */
	struct response r = parse_response(http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), false);
	cr_assert_str_eq(r.status, "HTTP/1.1 200 OK");
	cr_assert_str_eq(r.body, "");

	ls_http_set_body(srv, "lockstep_vcpus 1\n");
	r = parse_response(http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"), false);
	cr_assert_str_eq(r.status, "HTTP/1.1 200 OK");
	cr_assert(has_header(&r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"), "%s", r.headers);
	cr_assert(has_header(&r, "Content-Length: 17"), "%s", r.headers);
	cr_assert(has_header(&r, "Connection: close"), "%s", r.headers);
	cr_assert_str_eq(r.body, "lockstep_vcpus 1\n");

	ls_http_set_body(srv, "lockstep_vcpus 2\n");
	r = parse_response(http(port, "GET /metrics?name[]=x HTTP/1.0\r\n\r\n"), false);
	cr_assert_str_eq(r.status, "HTTP/1.1 200 OK");
	cr_assert_str_eq(r.body, "lockstep_vcpus 2\n");
	cr_assert_eq(ls_http_scrapes(srv), 3);
}

Test(metrics, http_head_sends_headers_only, HTTP)
{
	ls_http_set_body(srv, "lockstep_vcpus 1\n");
	struct response r = parse_response(http(ls_http_port(srv), "HEAD /metrics HTTP/1.1\r\n\r\n"), true);

	cr_assert_str_eq(r.status, "HTTP/1.1 200 OK");
	cr_assert_eq(r.content_length, 17);
	cr_assert(has_header(&r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"), "%s", r.headers);
	cr_assert_eq(ls_http_scrapes(srv), 1);
}

Test(metrics, http_other_paths_are_not_found, HTTP)
{
	int port = ls_http_port(srv);
	static const char *const reqs[] = { "GET / HTTP/1.1\r\n\r\n", "GET /metricsx HTTP/1.1\r\n\r\n",
					    "GET /metrics/ HTTP/1.1\r\n\r\n", "GET /x/metrics HTTP/1.1\r\n\r\n" };

	ls_http_set_body(srv, "lockstep_vcpus 1\n");
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct response r = parse_response(http(port, reqs[i]), false);

		cr_assert_str_eq(r.status, "HTTP/1.1 404 Not Found", "%s", reqs[i]);
		cr_assert(strstr(r.body, "/metrics"), "404 body does not name /metrics: [%s]", r.body);
	}
	struct response r = parse_response(http(port, "HEAD / HTTP/1.1\r\n\r\n"), true);
	cr_assert_str_eq(r.status, "HTTP/1.1 404 Not Found");
	cr_assert_eq(ls_http_scrapes(srv), 0);
}

Test(metrics, http_other_methods_are_not_allowed, HTTP)
{
	static const char *const reqs[] = { "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
					    "PUT /metrics HTTP/1.1\r\n\r\n", "get /metrics HTTP/1.1\r\n\r\n",
					    "DELETE / HTTP/1.1\r\n\r\n" };

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct response r = parse_response(http(ls_http_port(srv), reqs[i]), false);

		cr_assert_str_eq(r.status, "HTTP/1.1 405 Method Not Allowed", "%s", reqs[i]);
		cr_assert(has_header(&r, "Allow: GET, HEAD"), "%s", r.headers);
	}
}

Test(metrics, http_malformed_requests_are_bad, HTTP)
{
	int port = ls_http_port(srv);
	static const char *const reqs[] = {
		"GARBAGE\r\n\r\n",
		"GET /metrics\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1 extra\r\n\r\n",
		"GET /metrics FTP/1.1\r\n\r\n",
		"GET /metrics HTTP/x.1\r\n\r\n",
		" GET /metrics HTTP/1.1\r\n\r\n",
		"\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct response r = parse_response(http(port, reqs[i]), false);

		cr_assert_str_eq(r.status, "HTTP/1.1 400 Bad Request", "[%s]", reqs[i]);
	}
	/* The client stops sending before the blank line. */
	int fd = connect_to(port);
	cr_assert_eq(send(fd, "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL), 23);
	shutdown(fd, SHUT_WR);
	struct response r = parse_response(read_all(fd), false);
	close(fd);
	cr_assert_str_eq(r.status, "HTTP/1.1 400 Bad Request");
	/* A NUL in the request line. */
	r = parse_response(exchange(port, "GET /met\0rics HTTP/1.1\r\n\r\n", 26), false);
	cr_assert_str_eq(r.status, "HTTP/1.1 400 Bad Request");
	cr_assert_eq(ls_http_scrapes(srv), 0);
}

/* One request, sent a piece at a time (pieces ends with NULL). */
static struct response send_pieces(int port, const char *const *pieces)
{
	int fd = connect_to(port);

	for (; *pieces; pieces++) {
		cr_assert_eq(send(fd, *pieces, strlen(*pieces), MSG_NOSIGNAL), (ssize_t)strlen(*pieces));
		usleep(20000); /* let the server read each piece on its own */
	}
	struct response r = parse_response(read_all(fd), false);
	close(fd);
	return r;
}

Test(metrics, http_request_in_pieces_and_bare_newlines, HTTP)
{
	int port = ls_http_port(srv);
	/* Every way the blank line can be split across reads. */
	static const char *const splits[][8] = {
		{ "GE", "T /metr", "ics HTTP/1.1\r", "\nHost: x\r\n", "\r", "\n", NULL },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r", "\n", NULL },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n", "\r\n", NULL },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r", "\n\r\n", NULL },
		{ "GET /metrics HTTP/1.1\nHost: x\n", "\n", NULL },
		{ "GET /metrics HTTP/1.0\nHost: x\n\n", NULL },
	};

	ls_http_set_body(srv, "x 1\n");
	for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		struct response r = send_pieces(port, splits[i]);

		cr_assert_str_eq(r.status, "HTTP/1.1 200 OK", "split %zu", i);
		cr_assert_str_eq(r.body, "x 1\n", "split %zu", i);
	}
}

Test(metrics, http_oversized_headers_are_refused, HTTP)
{
	size_t n = 9000;
	char *req = malloc(n);

	cr_assert_not_null(req);
	memset(req, 'a', n);
	memcpy(req, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
	struct response r = parse_response(exchange(ls_http_port(srv), req, n), false);
	free(req);
	cr_assert_str_eq(r.status, "HTTP/1.1 431 Request Header Fields Too Large");
}

Test(metrics, http_a_silent_client_does_not_block_the_next, HTTP)
{
	int port = ls_http_port(srv);
	double t0 = now_s();
	int silent = connect_to(port);

	ls_http_set_body(srv, "x 1\n");
	usleep(50000); /* the server is now waiting on the silent one */
	double t1 = now_s();
	struct response r = parse_response(http(port, "GET /metrics HTTP/1.1\r\n\r\n"), false);
	double waited = now_s() - t1;
	cr_assert_str_eq(r.status, "HTTP/1.1 200 OK");
	cr_assert_lt(waited, 2.0, "the second client waited %.2f s", waited);

	/* The silent one was dropped at its deadline, without an answer. */
	char c;
	cr_assert_eq(recv(silent, &c, 1, 0), 0, "the silent client was not closed");
	double closed = now_s() - t0;
	close(silent);
	cr_assert_geq(closed, LS_HTTP_DEADLINE_MS / 1000.0 * 0.9, "closed after %.2f s", closed);
	cr_assert_lt(closed, 2.5, "closed after %.2f s", closed);
}

Test(metrics, http_many_idle_clients_do_not_delay_a_scrape, HTTP)
{
	int port = ls_http_port(srv), idle[100];

	ls_http_set_body(srv, "x 1\n");
	/* More than the server keeps open at once: the oldest make room, none blocks the scrape. */
	for (int i = 0; i < 100; i++)
		idle[i] = connect_to(port);
	usleep(50000);
	double t0 = now_s();
	struct response r = parse_response(http(port, "GET /metrics HTTP/1.1\r\n\r\n"), false);
	double waited = now_s() - t0;
	cr_assert_str_eq(r.status, "HTTP/1.1 200 OK");
	cr_assert_str_eq(r.body, "x 1\n");
	cr_assert_lt(waited, 2.0, "the scrape waited %.2f s behind idle clients", waited);
	for (int i = 0; i < 100; i++)
		close(idle[i]);
}

Test(metrics, http_a_trickling_client_is_dropped_at_the_deadline, HTTP)
{
	int fd = connect_to(ls_http_port(srv));
	double t0 = now_s(), closed = -1;
	const char *req = "GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

	/* One byte every 50 ms: each read makes progress, only the total deadline stops it. */
	for (const char *p = req; *p && closed < 0; p++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		send(fd, p, 1, MSG_NOSIGNAL);
		if (poll(&pfd, 1, 50) > 0)
			closed = now_s() - t0;
	}
	close(fd);
	cr_assert_geq(closed, 0, "still open after %.2f s", now_s() - t0);
	cr_assert_geq(closed, LS_HTTP_DEADLINE_MS / 1000.0 * 0.9, "closed after %.2f s", closed);
	cr_assert_lt(closed, 2.0, "closed after %.2f s", closed);
}

Test(metrics, http_stop_does_not_wait_for_a_connected_client, HTTP)
{
	int fd = connect_to(ls_http_port(srv));

	usleep(50000);
	double t0 = now_s();
	ls_http_stop(srv);
	srv = NULL;
	double took = now_s() - t0;
	close(fd);
	cr_assert_lt(took, 0.5, "stop took %.2f s", took);
}

Test(metrics, http_address_in_use, HTTP)
{
	char spec[32], err[256] = "", want[64];

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", ls_http_port(srv));
	cr_assert_null(ls_http_start(spec, err, sizeof(err)));
	snprintf(want, sizeof(want), "127.0.0.1:%d: Address already in use", ls_http_port(srv));
	cr_assert_str_eq(err, want);
}

Test(metrics, http_start_reports_a_bad_address)
{
	char err[256] = "";

	cr_assert_null(ls_http_start("1.2.3:80", err, sizeof(err)));
	cr_assert(strstr(err, "'1.2.3' is not an IPv4 address"), "%s", err);
	ls_http_stop(NULL);
}

Test(metrics, http_over_ipv6, .fini = free_responses)
{
	char err[256] = "";
	struct ls_http *h = ls_http_start("[::1]:0", err, sizeof(err));

	if (!h)
		cr_skip_test("no IPv6 loopback here: %s", err);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)ls_http_port(h)),
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	char want[64];

	snprintf(want, sizeof(want), "[::1]:%d", ls_http_port(h));
	cr_assert_str_eq(ls_http_addr(h), want);
	ls_http_set_body(h, "v6 1\n");
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(send(fd, "GET /metrics HTTP/1.1\r\n\r\n", 25, MSG_NOSIGNAL), 25);
	struct response r = parse_response(read_all(fd), false);
	close(fd);
	ls_http_stop(h);
	cr_assert_str_eq(r.body, "v6 1\n");
}
