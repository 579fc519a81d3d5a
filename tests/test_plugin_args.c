/* test_plugin_args.c - the plugin's key=value arguments: defaults, accepted spellings and every refusal message. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lockstep_wire.h"
#include "plugin_args.h"

static struct ls_plugin_args a;
static char err[256];
static char argbuf[8][128];
static char *argv_[8];

/* The parser keeps pointers into argv (dump=PATH), so the strings live in static storage. */
static int parse(int argc, ...)
{
	va_list ap;

	va_start(ap, argc);
	for (int i = 0; i < argc; i++) {
		snprintf(argbuf[i], sizeof(argbuf[i]), "%s", va_arg(ap, const char *));
		argv_[i] = argbuf[i];
	}
	va_end(ap);
	memset(err, 0, sizeof(err));
	return ls_plugin_args_parse(&a, argc, argv_, err, sizeof(err));
}

static void refused(const char *arg, const char *msg)
{
	cr_assert_eq(parse(1, arg), -1, "%s was accepted", arg);
	cr_assert_str_eq(err, msg);
}

Test(plugin_args, defaults)
{
	cr_assert_eq(parse(0), 0);
	cr_assert_eq(a.batch_order, 16);
	cr_assert_eq(a.ring_order, 21);
	cr_assert_eq(a.flush_ms, 50);
	cr_assert_eq(a.wait_ms, 0);
	cr_assert_null(a.dump_path);
	cr_assert_eq(a.verbose, false);
	cr_assert_str_eq(err, "");
}

Test(plugin_args, all_keys)
{
	cr_assert_eq(parse(6, "batch=256", "ring=32768", "flush=250ms", "wait=2s", "dump=/tmp/rec.bin", "verbose=on"), 0,
		     "%s", err);
	cr_assert_eq(a.batch_order, 8);
	cr_assert_eq(a.ring_order, 15);
	cr_assert_eq(a.flush_ms, 250);
	cr_assert_eq(a.wait_ms, 2000);
	cr_assert_str_eq(a.dump_path, "/tmp/rec.bin");
	cr_assert_eq(a.dump_path, argbuf[4] + 5, "dump_path points into argv");
	cr_assert_eq(a.verbose, true);
}

Test(plugin_args, largest_values)
{
	cr_assert_eq(parse(4, "batch=65536", "ring=2097152", "flush=60s", "wait=3600s"), 0, "%s", err);
	cr_assert_eq(a.batch_order, 16);
	cr_assert_eq(a.ring_order, 21);
	cr_assert_eq(a.flush_ms, 60000);
	cr_assert_eq(a.wait_ms, 3600000);
}

Test(plugin_args, small_batch_keeps_default_ring)
{
	cr_assert_eq(parse(1, "batch=1024"), 0, "%s", err);
	cr_assert_eq(a.batch_order, 10);
	cr_assert_eq(a.ring_order, 21);
}

Test(plugin_args, ring_must_hold_the_window_of_chunks)
{
	/* batch=256 needs 16*256 = 4096 records: 2048 is one power short, 4096 fits. */
	cr_assert_eq(parse(2, "batch=256", "ring=2048"), -1);
	cr_assert_str_eq(err, "ring=2048 is too small for batch=256: needs at least 4096 records");
	cr_assert_eq(parse(2, "ring=4096", "batch=256"), 0, "order of keys must not matter: %s", err);
	cr_assert_eq(a.ring_order, 12);
	cr_assert_eq(ls_window(a.batch_order, a.ring_order), 12, "16 chunks: a window of 12");
	cr_assert_eq(parse(2, "ring=32768", "batch=256"), 0, "%s", err);
	cr_assert_eq(ls_window(a.batch_order, a.ring_order), LS_WINDOW, "128 chunks: the full window");
}

Test(plugin_args, flush_off_and_bare_milliseconds)
{
	cr_assert_eq(parse(1, "flush=0"), 0);
	cr_assert_eq(a.flush_ms, 0);
	cr_assert_eq(parse(1, "flush=75"), 0);
	cr_assert_eq(a.flush_ms, 75);
}

Test(plugin_args, verbose_spellings)
{
	const char *on[] = { "verbose=on", "verbose=true", "verbose=yes" };
	const char *off[] = { "verbose=off", "verbose=false", "verbose=no" };

	for (int i = 0; i < 3; i++) {
		cr_assert_eq(parse(1, on[i]), 0);
		cr_assert_eq(a.verbose, true, "%s", on[i]);
		cr_assert_eq(parse(2, "verbose=on", off[i]), 0);
		cr_assert_eq(a.verbose, false, "%s", off[i]);
	}
}

Test(plugin_args, later_key_wins)
{
	cr_assert_eq(parse(2, "batch=512", "batch=2048"), 0);
	cr_assert_eq(a.batch_order, 11);
}

Test(plugin_args, unknown_key)
{
	refused("speed=3", "unknown argument 'speed' (known: batch, ring, flush, wait, dump, tlog, syscalls, verbose, "
				"forward)");
	refused("batchx=256", "unknown argument 'batchx' (known: batch, ring, flush, wait, dump, tlog, syscalls, verbose, "
				"forward)");
	refused("batc=256", "unknown argument 'batc' (known: batch, ring, flush, wait, dump, tlog, syscalls, verbose, "
				"forward)");
}

Test(plugin_args, not_key_value)
{
	refused("batch", "argument 'batch' is not key=value");
	refused("=256", "argument '=256' is not key=value");
	refused("", "argument '' is not key=value");
}

Test(plugin_args, refusal_stops_at_the_bad_argument)
{
	cr_assert_eq(parse(3, "batch=256", "nonsense", "ring=3"), -1);
	cr_assert_str_eq(err, "argument 'nonsense' is not key=value");
}

Test(plugin_args, batch_refusals)
{
	refused("batch=3", "batch=3: must be a power of two from 256 to 65536 blocks");
	refused("batch=1000", "batch=1000: must be a power of two from 256 to 65536 blocks");
	refused("batch=131072", "batch=131072: must be a power of two from 256 to 65536 blocks");
	refused("batch=128", "batch=128: must be a power of two from 256 to 65536 blocks");
	refused("batch=0", "batch=0: must be a power of two from 256 to 65536 blocks");
	refused("batch=", "batch=: must be a power of two from 256 to 65536 blocks");
	refused("batch=-256", "batch=-256: must be a power of two from 256 to 65536 blocks");
	refused("batch=+256", "batch=+256: must be a power of two from 256 to 65536 blocks");
	refused("batch=256x", "batch=256x: must be a power of two from 256 to 65536 blocks");
	refused("batch= 256", "batch= 256: must be a power of two from 256 to 65536 blocks");
	/* strtoull would negate these to 256 and 0: the sign must be refused, not wrapped. */
	refused("batch=-18446744073709551360",
		"batch=-18446744073709551360: must be a power of two from 256 to 65536 blocks");
	refused("batch=99999999999999999999", "batch=99999999999999999999: must be a power of two from 256 to 65536 blocks");
}

Test(plugin_args, ring_refusals)
{
	refused("ring=4194304", "ring=4194304: must be a power of two of at most 2097152 records");
	refused("ring=1000000", "ring=1000000: must be a power of two of at most 2097152 records");
	refused("ring=0", "ring=0: must be a power of two of at most 2097152 records");
	refused("ring=-1", "ring=-1: must be a power of two of at most 2097152 records");
	refused("ring=2097152k", "ring=2097152k: must be a power of two of at most 2097152 records");
	/* Default batch is 65536: 16 chunks of it need 1048576 records. */
	refused("ring=524288", "ring=524288 is too small for batch=65536: needs at least 1048576 records");
	refused("ring=1", "ring=1 is too small for batch=65536: needs at least 1048576 records");
}

Test(plugin_args, duration_refusals)
{
	refused("flush=abc", "flush=abc: must be a duration like 50ms or 1s, at most 60s (0 turns it off)");
	refused("flush=61s", "flush=61s: must be a duration like 50ms or 1s, at most 60s (0 turns it off)");
	refused("flush=60001", "flush=60001: must be a duration like 50ms or 1s, at most 60s (0 turns it off)");
	refused("flush=-5", "flush=-5: must be a duration like 50ms or 1s, at most 60s (0 turns it off)");
	refused("flush=-0", "flush=-0: must be a duration like 50ms or 1s, at most 60s (0 turns it off)");
	refused("flush=5m", "flush=5m: must be a duration like 50ms or 1s, at most 60s (0 turns it off)");
	refused("wait=3601s", "wait=3601s: must be a duration like 500ms or 30s, at most 3600s");
	refused("wait=61m", "wait=61m: must be a duration like 500ms or 30s, at most 3600s");
	refused("wait=", "wait=: must be a duration like 500ms or 30s, at most 3600s");
}

Test(plugin_args, other_refusals)
{
	refused("verbose=maybe", "verbose=maybe: must be on, off or syscalls");
	refused("verbose=", "verbose=: must be on, off or syscalls");
	refused("verbose=ON", "verbose=ON: must be on, off or syscalls");
	refused("dump=", "dump=: needs a file path");
}

Test(plugin_args, error_message_is_truncated_safely)
{
	char small[16];

	argv_[0] = argbuf[0];
	snprintf(argbuf[0], sizeof(argbuf[0]), "verbose=maybe");
	memset(small, 'X', sizeof(small));
	cr_assert_eq(ls_plugin_args_parse(&a, 1, argv_, small, sizeof(small)), -1);
	cr_assert_str_eq(small, "verbose=maybe: ");
}

Test(plugin_args, duration_units)
{
	uint32_t v = 12345;

	cr_assert_eq(ls_parse_duration_ms("250ms", 60000, &v), 0);
	cr_assert_eq(v, 250);
	cr_assert_eq(ls_parse_duration_ms("2s", 60000, &v), 0);
	cr_assert_eq(v, 2000);
	cr_assert_eq(ls_parse_duration_ms("7", 60000, &v), 0);
	cr_assert_eq(v, 7);
	cr_assert_eq(ls_parse_duration_ms("0", 60000, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(ls_parse_duration_ms("0s", 60000, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(ls_parse_duration_ms("60s", 60000, &v), 0);
	cr_assert_eq(v, 60000);
	cr_assert_eq(ls_parse_duration_ms("60000ms", 60000, &v), 0);
	cr_assert_eq(v, 60000);
	cr_assert_eq(ls_parse_duration_ms("4294967s", 4294967295u, &v), 0);
	cr_assert_eq(v, 4294967000u);
}

Test(plugin_args, duration_refused_spellings)
{
	const char *bad[] = { "500us", "60001", "61s", "60001ms", "", "ms", "s", "-1", "+1", " 1", "1 ms",
			      "1sec", "1S", "1.5s", "99999999999999999999", "18446744073709551615s", "4294968s" };
	uint32_t v = 4242;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t max = strcmp(bad[i], "4294968s") ? 60000 : 4294967295u;
		cr_assert_eq(ls_parse_duration_ms(bad[i], max, &v), -1, "'%s' was accepted", bad[i]);
		cr_assert_eq(v, 4242, "'%s' wrote the output", bad[i]);
	}
}

/*
 * Every numeric key, with powers of two far past its range: each is refused
 * on its value, before any shift by its order (1 << 40 in a 32-bit shift
 * once read back as 256), and nothing of it is kept.
 */
Test(plugin_args, huge_powers_of_two_are_refused_for_every_key)
{
	static const char *const keys[] = { "batch", "ring", "syscalls" };
	char arg[64];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (int order = 21; order < 64; order++) {
			snprintf(arg, sizeof(arg), "%s=%llu", keys[k], 1ull << order);
			if (!strcmp(keys[k], "ring") && order == 21)
				continue; /* the largest ring there is */
			cr_assert_eq(parse(1, arg), -1, "%s accepted", arg);
			cr_assert(strstr(err, arg), "%s: %s", arg, err);
			cr_assert_eq(a.batch_order, LS_DEFAULT_BATCH_ORDER, "%s", arg);
		}
	refused("tlog=1099511627776K", "tlog=1099511627776K: must be a size from 64K to 16G (a bare number is MiB; 0 turns it off)");
	refused("tlog=18014398509481984", "tlog=18014398509481984: must be a size from 64K to 16G (a bare number is MiB; 0 turns it off)");
	refused("tlog=17179869185K", "tlog=17179869185K: must be a size from 64K to 16G (a bare number is MiB; 0 turns it off)");
	refused("flush=1099511627776", "flush=1099511627776: must be a duration like 50ms or 1s, at most 60s (0 turns it off)");
	refused("wait=18446744073709551615ms", "wait=18446744073709551615ms: must be a duration like 500ms or 30s, at most 3600s");
	refused("syscalls=8", "syscalls=8: must be a power of two from 16 to 1048576 records (0 turns it off)");
	refused("syscalls=2097152", "syscalls=2097152: must be a power of two from 16 to 1048576 records (0 turns it off)");
}

Test(plugin_args, forward_sides_need_wait)
{
	cr_assert_eq(parse(2, "forward=a", "wait=5s"), 0);
	cr_assert_eq(a.forward, 1);
	cr_assert_eq(parse(2, "wait=5s", "forward=B"), 0);
	cr_assert_eq(a.forward, 2);
	cr_assert_eq(parse(1, "wait=5s"), 0);
	cr_assert_eq(a.forward, 0);
	refused("forward=a", "forward=a needs wait= (hold the guest until the monitor hands over the forwarding channel)");
	refused("forward=c", "forward=c: must be a (the QEMU whose results are forwarded) or b (the one that takes them)");
}
