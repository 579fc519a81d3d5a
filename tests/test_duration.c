/* test_duration.c - the duration parser shared by the monitor's options and the plugin's arguments. */
#include <criterion/criterion.h>

#include "duration.h"

Test(duration, units_and_bare_numbers)
{
	uint64_t v;

	cr_assert_eq(ls_parse_duration("250ms", 1000, 0, UINT64_MAX, &v), 0);
	cr_assert_eq(v, 250);
	cr_assert_eq(ls_parse_duration("2s", 1000, 0, UINT64_MAX, &v), 0);
	cr_assert_eq(v, 2000);
	cr_assert_eq(ls_parse_duration("10m", 1000, 0, UINT64_MAX, &v), 0);
	cr_assert_eq(v, 600000);
	cr_assert_eq(ls_parse_duration("2h", 1000, 0, UINT64_MAX, &v), 0);
	cr_assert_eq(v, 7200000);
	cr_assert_eq(ls_parse_duration("90", 1000, 0, UINT64_MAX, &v), 0);
	cr_assert_eq(v, 90000, "a bare number is in the caller's unit (seconds here)");
	cr_assert_eq(ls_parse_duration("90", 1, 0, UINT64_MAX, &v), 0);
	cr_assert_eq(v, 90, "a bare number is in the caller's unit (milliseconds here)");
}

Test(duration, limits_are_inclusive)
{
	uint64_t v;

	cr_assert_eq(ls_parse_duration("100ms", 1000, 100, 3600000, &v), 0);
	cr_assert_eq(v, 100);
	cr_assert_eq(ls_parse_duration("1h", 1000, 100, 3600000, &v), 0);
	cr_assert_eq(v, 3600000);
	cr_assert_eq(ls_parse_duration("99ms", 1000, 100, 3600000, &v), -1);
	cr_assert_eq(ls_parse_duration("3600001ms", 1000, 100, 3600000, &v), -1);
	cr_assert_eq(ls_parse_duration("61m", 1000, 100, 3600000, &v), -1);
}

Test(duration, refusals_leave_the_output_alone)
{
	const char *bad[] = { "", "s", "ms", "-1", "+1", " 1", "1 s", "1.5s", "1S", "1sec", "1d", "0x10",
			      "18446744073709551615h", "99999999999999999999", "5us" };
	uint64_t v = 4242;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(ls_parse_duration(bad[i], 1000, 0, UINT64_MAX, &v), -1, "'%s' was accepted", bad[i]);
		cr_assert_eq(v, 4242, "'%s' wrote the output", bad[i]);
	}
	cr_assert_eq(ls_parse_duration(NULL, 1000, 0, UINT64_MAX, &v), -1);
}
