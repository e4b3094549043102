"""core.Interrupts: a signal is a request to stop, raised only where the run checks for it."""

import os
import signal

from absl.testing import absltest

from agents.common import core


class InterruptsTest(absltest.TestCase):

  def test_a_signal_raises_only_at_the_next_check(self):
    with core.Interrupts():
      os.kill(os.getpid(), signal.SIGTERM)
      total = sum(range(1000))  # Python code runs on: the handler raised nothing.
      self.assertEqual(total, 499500)
      with self.assertRaises(KeyboardInterrupt):
        core.check_interrupt()
      core.check_interrupt()  # The request was taken: the save on the way out can run.

  def test_a_second_signal_raises_at_once(self):
    with core.Interrupts():
      os.kill(os.getpid(), signal.SIGINT)
      with self.assertRaises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100):  # The handler runs at the next bytecode boundary.
          pass

  def test_the_previous_handlers_come_back(self):
    before = signal.getsignal(signal.SIGTERM)
    with core.Interrupts():
      self.assertIsNot(signal.getsignal(signal.SIGTERM), before)
      os.kill(os.getpid(), signal.SIGTERM)
    self.assertIs(signal.getsignal(signal.SIGTERM), before)
    core.check_interrupt()  # A request left over from the run is dropped with it.


if __name__ == '__main__':
  absltest.main()
