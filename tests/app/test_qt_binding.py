"""Guards the pinned Qt binding: PySide6 6.12.0 lost a reference to True on every
Signal.emit(), so a few hundred emits aborted Python ("bool_dealloc"). Run in a child so a
regression shows as a failed test, not a dead test runner."""
import subprocess
import sys

CODE = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Emitter(QObject):
    value = Signal(int)
    payload = Signal(dict)

app = QCoreApplication([])
e = Emitter()
e.value.connect(lambda v: None)
e.payload.connect(lambda d: None)
before = (sys.getrefcount(True), sys.getrefcount(None))
for i in range(2000):
    e.value.emit(i)
    e.payload.emit({"ok": True, "gap": None})
after = (sys.getrefcount(True), sys.getrefcount(None))
print(before[0] - after[0], before[1] - after[1])
"""


def test_signal_emit_keeps_reference_counts():
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-500:]
    lost_true, lost_none = map(int, done.stdout.split())
    assert abs(lost_true) < 50 and abs(lost_none) < 50
