"""NaN and infinity: refused from the environment, never applied by a learner, never saved."""

import os
import tempfile

import numpy as np
import tensorflow as tf

from agents.common import checkpointing
from agents.common import environments
from agents.common import learning
from tests.launchers import launcher_testing
from tests.reliability import faulty_envs  # pylint: disable=unused-import
from tests.reliability import reliability_testing as testing


class EnvironmentTest(launcher_testing.LauncherTestCase):

  def test_nan_reward_stops_ppo_naming_env_and_step_keeping_its_checkpoint(self):
    logdir = self.create_tempdir()
    # 8 envs x 32 steps per rollout: the first env's step 300 comes in the tenth rollout,
    # after checkpoints at 1,024 and 2,048 env steps.
    result = testing.run('ppo', logdir, '--env=Faulty/NanReward-v0', '--num_envs=8',
                         '--num_steps_per_env=32', '--num_steps=5000', '--checkpoint_every=1024',
                         '--eval_every=0')
    self.assertEqual(result.returncode, 1, result.stderr[-2000:])
    lines = testing.error_lines(result)
    self.assertEqual(len(lines), 1, result.stderr[-2000:])
    self.assertIn('Faulty/NanReward-v0 (copy 0) returned a non-finite reward (nan) at its step '
                  '300', lines[0])
    self.assertIn('ckpt-2048', lines[0])
    self.assertNotIn('Traceback', result.stderr)
    prefixes = testing.checkpoints(logdir)
    self.assertEqual([os.path.basename(p) for p in prefixes], ['ckpt-1024', 'ckpt-2048'])
    self.assertTrue(all(testing.all_finite(p) for p in prefixes))

  def test_nan_reward_stops_sac(self):
    logdir = self.create_tempdir()
    result = testing.run('sac', logdir, '--env=Faulty/NanRewardPendulum-v0', '--num_steps=400',
                         '--learning_starts=100', '--hidden_sizes=16', '--batch_size=16',
                         '--eval_every=0')
    self.assertEqual(result.returncode, 1, result.stderr[-2000:])
    self.assertIn('non-finite reward (nan) at its step 300', result.stderr)
    self.assertIn('no checkpoint was written', result.stderr)
    self.assertFalse(os.path.exists(os.path.join(logdir, 'evaluation.json')))

  def test_nan_observation_is_refused_by_the_adapters(self):
    env = environments.make_environment('Faulty/NanObservation-v0', seed=0)
    env.reset()
    with self.assertRaisesRegex(environments.NonFiniteError,
                                r'non-finite observation \(nan\) at its step 300'):
      for _ in range(400):
        if env.step(0).last():
          env.reset()
    vector = environments.VectorEnv('Faulty/NanObservation-v0', 3, seed=0)
    vector.reset()
    with self.assertRaisesRegex(environments.NonFiniteError, r'\(copy 0\).*observation'):
      for _ in range(400):
        vector.step(np.zeros(3, np.int64))
    self.assertIsInstance(vector.failure, environments.NonFiniteError)


class LearnerTest(launcher_testing.LauncherTestCase):

  def test_nonfinite_loss_stops_the_run_before_any_checkpoint_of_it(self):
    logdir = self.create_tempdir()
    result = testing.run('ppo', logdir, '--env=Faulty/HugeReward-v0', '--num_envs=8',
                         '--num_steps_per_env=32', '--num_steps=5000', '--checkpoint_every=1024',
                         '--eval_every=0')
    self.assertEqual(result.returncode, 1, result.stderr[-2000:])
    lines = testing.error_lines(result)
    self.assertEqual(len(lines), 1, result.stderr[-2000:])
    self.assertRegex(lines[0], r'learner step [\d,]+ \(after [\d,]+ env steps\) gave \w+=(nan|inf)')
    self.assertTrue(all(testing.all_finite(p) for p in testing.checkpoints(logdir)))

  def test_skip_goes_on_and_saves_only_finite_variables(self):
    logdir = self.create_tempdir()
    result = testing.run('ppo', logdir, '--env=Faulty/HugeReward-v0', '--num_envs=8',
                         '--num_steps_per_env=32', '--num_steps=4096', '--checkpoint_every=1024',
                         '--eval_every=0', '--on_nonfinite=skip')
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    skipped = [float(r['skipped_updates']) for r in testing.metrics_rows(logdir)
               if r.get('skipped_updates')]
    self.assertGreater(sum(skipped), 0)
    prefixes = testing.checkpoints(logdir)
    self.assertTrue(prefixes)
    self.assertTrue(all(testing.all_finite(p) for p in prefixes))


class GradientTest(tf.test.TestCase):

  def test_nonfinite_gradient_is_replaced_by_zeros(self):
    for name in ('sgd', 'adam'):
      variable = tf.Variable([1.0, 2.0])
      optimizer = learning.make_optimizer(name, 0.1)

      @tf.function(jit_compile=True)
      def step(gradient, variable=variable, optimizer=optimizer):
        return learning.apply_global_gradients(optimizer, [gradient], [variable],
                                               max_grad_norm=10.0)

      self.assertAllClose(step(tf.constant([3.0, 4.0])), 5.0)
      after_one = variable.numpy()
      for bad in ([np.nan, 1.0], [np.inf, 1.0]):
        self.assertFalse(np.isfinite(step(tf.constant(bad, tf.float32)).numpy()))
        self.assertTrue(np.all(np.isfinite(variable.numpy())))
        if name == 'sgd':  # No momentum: nothing moves.
          self.assertAllEqual(variable.numpy(), after_one)
      if name == 'adam':  # Only the first moment moves it, in the earlier gradient's direction.
        self.assertTrue(np.all(variable.numpy() < after_one))


class CheckpointTest(tf.test.TestCase):

  def test_a_nonfinite_variable_is_never_saved(self):
    logdir = tempfile.mkdtemp()
    variable = tf.Variable([1.0, 2.0], name='weights')
    checkpointer = checkpointing.Checkpointer(logdir, model=variable)
    self.assertIsNone(checkpointer.restore())
    checkpointer.save(1)
    variable.assign([np.nan, 0.0])
    with self.assertRaisesRegex(checkpointing.NonFiniteState, 'weights.*not finite'):
      checkpointer.save(2)
    self.assertEqual(checkpointer.latest, os.path.join(logdir, 'checkpoints', 'ckpt-1'))
    self.assertFalse(os.path.exists(os.path.join(logdir, 'checkpoints', 'ckpt-2.index')))


if __name__ == '__main__':
  tf.test.main()
