"""Tests of agents.restore: a trained run's policy rebuilt from its logdir."""

import json
import os
import shutil
import tempfile

import tensorflow as tf

from agents import api
from agents import restore
from agents.common import checkpointing
from tests.agents import trained_runs


def _evaluation_json(logdir):
  with open(os.path.join(logdir, 'evaluation.json')) as f:
    return json.load(f)


class LoadTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.trained = {'ppo': trained_runs.ppo_cartpole(), 'sac': trained_runs.sac_pendulum()}
    cls.ppo, cls.sac = cls.trained['ppo'].logdir, cls.trained['sac'].logdir

  def _load(self, logdir, checkpoint=None):
    run = restore.load(logdir, checkpoint)
    self.addCleanup(run.close)
    return run

  def test_the_final_checkpoint_acts_and_evaluates_as_the_trained_agent(self):
    for name, steps in (('ppo', trained_runs.PPO_STEPS), ('sac', trained_runs.SAC_STEPS)):
      with self.subTest(name):
        trained = self.trained[name]
        run = self._load(trained.logdir)
        self.assertEqual(run.step, steps[1])
        self.assertEqual(run.checkpoint,
                         os.path.join(trained.logdir, 'checkpoints', f'ckpt-{steps[1]}'))
        self.assertAllEqual(run.policy(trained.observations), trained.actions)
        self.assertAllClose(run.policy(trained.observations[0]), trained.actions[0])
        # The training's evaluation seeds and episodes: the returns of its evaluation.json.
        record = _evaluation_json(trained.logdir)
        result = run.evaluate(record['episodes'])
        self.assertAllClose(result.returns, record['returns'])

  def test_the_observation_statistics_are_restored(self):
    run = self._load(self.ppo)
    self.assertTrue(run.config.normalize_observations)
    reader = tf.train.load_checkpoint(run.checkpoint)
    saved = float(reader.get_tensor('actor/_normalizer/count/.ATTRIBUTES/VARIABLE_VALUE'))
    self.assertGreater(saved, 1.0)  # Observations were seen: not the initial statistics.
    policy_module = run.policy_function.python_function.__self__
    counts = [float(v.numpy()) for v in policy_module.variables if v.name == 'count:0']
    self.assertEqual(counts, [saved])

  def test_a_checkpoint_is_picked_by_its_env_step(self):
    observations = self.trained['sac'].observations
    early = self._load(self.sac, checkpoint=trained_runs.SAC_STEPS[0])
    late = self._load(self.sac)
    self.assertEqual(early.step, trained_runs.SAC_STEPS[0])
    self.assertEndsWith(early.checkpoint, f'ckpt-{trained_runs.SAC_STEPS[0]}')
    self.assertNotAllClose(early.policy(observations), late.policy(observations))
    self.assertEqual(restore.available_checkpoints(self.sac), list(trained_runs.SAC_STEPS))

  def test_loading_writes_nothing_into_the_logdir(self):
    before = trained_runs.fingerprint(self.sac, skip=())
    run = restore.load(self.sac)
    run.evaluate(1)
    workdir = run._workdir  # pylint: disable=protected-access
    run.close()
    self.assertEqual(trained_runs.fingerprint(self.sac, skip=()), before)
    self.assertFalse(os.path.exists(workdir))
    self.assertFalse(os.path.exists(os.path.join(self.sac, 'evaluations')))

  def test_a_closed_run_says_so(self):
    run = restore.load(self.ppo)
    run.close()
    run.close()  # Twice is fine.
    with self.assertRaisesRegex(RuntimeError, r'LoadedRun\(ppo on CartPole-v1.* is closed'):
      run.policy(self.trained['ppo'].observations)

  def test_the_config_comes_back_as_the_dataclass(self):
    run = self._load(self.sac)
    self.assertEqual(run.config, trained_runs.SAC_CONFIG)
    self.assertEqual((run.agent, run.env_id, run.seed), ('sac', 'Pendulum-v1', 0))
    self.assertIn('ckpt-300', repr(run))

  def test_api_load_is_restore_load(self):
    with api.load(self.ppo, checkpoint=trained_runs.PPO_STEPS[0]) as run:
      self.assertIsInstance(run, restore.LoadedRun)
      self.assertEqual(run.step, trained_runs.PPO_STEPS[0])


class LoadErrorTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.root = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)

  def test_a_folder_that_is_not_a_run(self):
    with self.assertRaisesRegex(restore.LoadError, r"logdir='.*nope': does not exist"):
      restore.load(os.path.join(self.root, 'nope'))
    with self.assertRaisesRegex(restore.LoadError, r'not a run directory \(no config.json\)'):
      restore.load(self.root)
    with open(os.path.join(self.root, 'config.json'), 'w') as f:
      f.write('{oops')
    with self.assertRaisesRegex(restore.LoadError, 'config.json does not read back'):
      restore.load(self.root)

  def test_a_run_without_checkpoints(self):
    logdir = os.path.join(self.root, 'run')
    os.makedirs(logdir)
    shutil.copy(os.path.join(trained_runs.ppo_cartpole().logdir, 'config.json'), logdir)
    with self.assertRaisesRegex(restore.LoadError, 'holds no checkpoint yet'):
      restore.load(logdir)

  def test_a_missing_checkpoint_lists_the_ones_there_are(self):
    with self.assertRaises(restore.LoadError) as caught:
      restore.load(trained_runs.ppo_cartpole().logdir, checkpoint=40)
    self.assertEqual(caught.exception.argument, 'checkpoint')
    self.assertEqual(caught.exception.value, 40)
    self.assertRegex(str(caught.exception),
                     r'^checkpoint=40: .* has no checkpoints/ckpt-40 \(its checkpoints: 32, 64\)$')

  def test_a_damaged_checkpoint_is_named(self):
    logdir = os.path.join(self.root, 'run')
    shutil.copytree(trained_runs.ppo_cartpole().logdir, logdir)
    data = os.path.join(logdir, 'checkpoints', 'ckpt-64.data-00000-of-00001')
    with open(data, 'r+b') as f:
      f.truncate(os.path.getsize(data) // 2)
    with self.assertRaisesRegex(restore.LoadError, 'checkpoint=64: .*ckpt-64 does not read back'):
      restore.load(logdir, checkpoint=64)
    with restore.load(logdir) as run:
      self.assertEqual(run.step, 32)  # The newest intact one.
    self.assertTrue(os.path.exists(data))  # Not renamed *.damaged: the run is left alone.

  def test_a_config_of_another_version_of_the_code(self):
    logdir = os.path.join(self.root, 'run')
    shutil.copytree(trained_runs.ppo_cartpole().logdir, logdir)
    path = os.path.join(logdir, 'config.json')
    with open(path) as f:
      record = json.load(f)
    record['config']['no_such_field'] = 1
    with open(path, 'w') as f:
      json.dump(record, f)
    with self.assertRaisesRegex(restore.LoadError, 'no_such_field that PPOConfig does not'):
      restore.load(logdir)

  def test_a_checkpoint_of_another_agent(self):
    logdir = trained_runs.fake_run(os.path.join(self.root, 'run'), 'ppo', 'CartPole-v1')
    with open(os.path.join(logdir, 'config.json')) as f:
      record = json.load(f)
    record['config'] = {'num_envs': 2, 'num_steps_per_env': 16, 'minibatch_size': 16}
    with open(os.path.join(logdir, 'config.json'), 'w') as f:
      json.dump(record, f)
    with self.assertRaisesRegex(checkpointing.MismatchedCheckpoint, 'does not match'):
      restore.load(logdir)


if __name__ == '__main__':
  tf.test.main()
