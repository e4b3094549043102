"""D4PG through the one loop on a fake environment (acting in the learner's process): every
env step reaches the table, the learner steps from `learning_starts` on, its metrics are
finite and every network moves."""

import shutil
import tempfile

from absl.testing import absltest
import gymnasium as gym
import numpy as np
import tensorflow as tf

from agents.common import core
from agents.common import environments
from agents.common import loop
from agents.d4pg import builder
from agents.d4pg import config as d4pg_config
from tests.agents.common import fake_envs

_ECHO_25 = 'RuntimeTestEcho25-v0'


def setUpModule():
  fake_envs.register()
  if _ECHO_25 not in gym.envs.registry:
    gym.register(_ECHO_25, entry_point=fake_envs.Echo, max_episode_steps=25,
                 disable_env_checker=True)


class D4PGAgentTest(absltest.TestCase):

  def test_learner_steps_on_a_fake_environment(self):
    logdir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, logdir, ignore_errors=True)
    settings = loop.RunSettings('d4pg', _ECHO_25, num_steps=60, seed=0, logdir=logdir,
                                eval_episodes=1, eval_every=0, checkpoint_every=1000,
                                log_every=20)
    config = d4pg_config.D4PGConfig(hidden_sizes=(8,), batch_size=4, learning_starts=10,
                                    replay_size=1000, num_atoms=11, v_min=-10.0, v_max=10.0)
    context = core.BuildContext(env_id=_ECHO_25, spec=environments.environment_spec(_ECHO_25),
                                seed=0, env_seed=0, num_steps=60,
                                strategy=tf.distribute.get_strategy(), logdir=logdir)
    agent = builder.make_agent(config, context)
    learner = agent.learners[0]
    before = [v.numpy().copy() for v in learner.trainable_variables]
    try:
      record = loop.run(settings, agent)
    finally:
      agent.close()
    self.assertEqual(record['env_steps'], 60)
    # Two 25-step episodes, then 10 steps of a third whose last N - 1 = 4 wait for o_{t+5}.
    self.assertEqual(record['replay_items'], 60 - 4)
    # The table holds learning_starts = 10 transitions at step 14 (N - 1 = 4 pending): updates
    # from then on, one per step.
    self.assertEqual(record['updates'], 60 - 14 + 1)
    self.assertTrue(np.isfinite(record['mean_return']))
    after = learner.trainable_variables
    self.assertTrue(all(np.all(np.isfinite(v.numpy())) for v in after))
    self.assertTrue(all(not np.array_equal(b, v.numpy()) for b, v in zip(before, after)))


if __name__ == '__main__':
  absltest.main()
