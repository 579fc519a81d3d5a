#!/usr/bin/env python3
"""hostile_poke.py - write into a running QEMU's lockstep plugin, as a guest
or a modified plugin could: the monitor (root) must treat all of it as
hostile.  Finds lockstep_plugin_info from the plugin's symbol and the
process's maps, and vCPU 0's struct ls_batch through batches_addr.

  hostile_poke.py PID PLUGIN_FILE [--for SECONDS] FIELD=VALUE...

FIELD is info.NAME or batch.NAME (offsets below, from lockstep_wire.h);
VALUE a number, or batch.NAME to copy that field's current value.  With
--for, the writes are repeated every millisecond for that long (or until
the process exits), so the plugin's own stores cannot undo them.
"""
import os, struct, subprocess, sys, time

INFO = {'batch_order': (8, 'I'), 'ring_order': (12, 'I'), 'batches_addr': (16, 'Q'),
        'tlog_addr': (48, 'Q'), 'tlog_cap': (56, 'Q'), 'tlog_used': (64, 'Q'),
        'flags': (80, 'I'), 'sys_order': (84, 'I')}
BATCH = {'nblocks': (12, 'I'), 'chunk': (16, 'Q'), 'ring_addr': (48, 'Q'), 'head_addr': (56, 'Q'),
         'ring_order': (64, 'I'), 'batch_order': (68, 'I'), 'sys_addr': (96, 'Q'), 'sys_next': (104, 'Q')}


def info_addr(pid, plugin):
    out = subprocess.run(['nm', '-D', '--defined-only', plugin], capture_output=True, text=True).stdout
    val = next(int(l.split()[0], 16) for l in out.splitlines() if l.split()[-1] == 'lockstep_plugin_info')
    real = os.path.realpath(plugin)
    for line in open(f'/proc/{pid}/maps'):
        f = line.split()
        if len(f) >= 6 and f[5] == real and int(f[2], 16) == 0:
            return int(f[0].split('-')[0], 16) + val
    sys.exit(f'hostile_poke: {real} is not mapped in {pid}')


def main():
    pid, plugin, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    dur = 0.0
    if args and args[0] == '--for':
        dur, args = float(args[1]), args[2:]
    mem = os.open(f'/proc/{pid}/mem', os.O_RDWR)
    ia = info_addr(pid, plugin)
    rd = lambda a, fmt: struct.unpack('<' + fmt, os.pread(mem, struct.calcsize(fmt), a))[0]
    batch = 0
    for _ in range(2000):  # vCPU 0's stream appears at its first translation
        ba = rd(ia + 16, 'Q')  # 0 until the plugin has installed itself
        batch = rd(ba, 'Q') if ba else 0
        if batch:
            break
        time.sleep(0.005)
    if not batch:
        sys.exit('hostile_poke: no vCPU stream')
    writes = []
    for a in args:
        name, val = a.split('=')
        kind, field = name.split('.')
        base, table = (ia, INFO) if kind == 'info' else (batch, BATCH)
        off, fmt = table[field]
        if val.startswith('batch.'):
            boff, bfmt = BATCH[val[6:]]
            v = rd(batch + boff, bfmt)
        else:
            v = int(val, 0)
        writes.append((base + off, struct.pack('<' + fmt, v)))
    end = time.monotonic() + dur
    first = True
    while True:
        try:
            for addr, data in writes:
                os.pwrite(mem, data, addr)
        except OSError:
            break  # it exited
        if first:
            print('poked', flush=True)  # the caller may go on
            first = False
        if time.monotonic() >= end:
            break
        time.sleep(0.001)


main()
