"""A Modbus TCP server for the scada_modbus_write tests and demo, on pymodbus (Debian's
python3-pymodbus).

    python3 test/servers/modbus_server.py --port 1502 [--host 127.0.0.1] [--unit 1]
        [--coils 100] [--registers 100] [--ignore-writes]

One unit (slave id) with coils and holding registers from address 0, zero-based (address N
is the Nth coil, as a Modbus TCP client numbers it). It prints one line per write it is
asked to do ("write coil 7 = 1", "write register 3 = 500") and flushes, so a test can count
writes; with --ignore-writes it answers writes as a real device would but keeps the old
value (a device whose output did not move). Addresses beyond the table are answered with
exception 2 (illegal data address), as pymodbus does by itself.
"""
import argparse
import sys
import types

# pymodbus 3.0's server module imports pyserial for its serial servers even when only TCP
# is used; Debian only recommends python3-serial-asyncio. Empty stand-ins are enough for
# TCP; the real modules are used when they are installed.
for name in ("serial", "serial_asyncio"):
    try:
        __import__(name)
    except ImportError:
        stub = types.ModuleType(name)
        stub.create_serial_connection = None
        sys.modules[name] = stub

from pymodbus.datastore import (  # noqa: E402
    ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext,
)
from pymodbus.server import StartTcpServer  # noqa: E402


class LoggedBlock(ModbusSequentialDataBlock):
    """A data block that reports every write on stdout, and may ignore writes."""

    def __init__(self, what, size, ignore):
        super().__init__(0, [0] * size)
        self.what = what
        self.ignore = ignore

    def setValues(self, address, values):  # noqa: N802 (pymodbus's name)
        values = values if isinstance(values, list) else [values]
        for i, v in enumerate(values):
            print(f"write {self.what} {address + i} = {int(v)}", flush=True)
        if not self.ignore:
            super().setValues(address, values)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--unit", type=int, default=1)
    p.add_argument("--coils", type=int, default=100)
    p.add_argument("--registers", type=int, default=100)
    p.add_argument("--ignore-writes", action="store_true")
    a = p.parse_args()
    unit = ModbusSlaveContext(
        co=LoggedBlock("coil", a.coils, a.ignore_writes),
        hr=LoggedBlock("register", a.registers, a.ignore_writes),
        di=ModbusSequentialDataBlock(0, [0] * 8),
        ir=ModbusSequentialDataBlock(0, [0] * 8),
        zero_mode=True,
    )
    context = ModbusServerContext(slaves={a.unit: unit}, single=False)
    print(f"modbus server on {a.host}:{a.port} unit {a.unit}", flush=True)
    StartTcpServer(context=context, address=(a.host, a.port))


if __name__ == "__main__":
    main()
