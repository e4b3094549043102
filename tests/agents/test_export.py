"""Tests of agents.export: a run's policy as a SavedModel that needs only TensorFlow."""

import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from agents import export
from agents import restore
from tests.agents import trained_runs

# Top-level modules that must not be imported to load and run an export.
_PROJECT = ('agents', 'envs', 'launchers', 'losses', 'networks', 'tests',
            'tensorflow_probability', 'reverb', 'gymnasium')


class ExportTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.trained = {'ppo': trained_runs.ppo_cartpole(), 'sac': trained_runs.sac_pendulum()}
    cls.metadata = {}
    for name, trained in cls.trained.items():
      with restore.load(trained.logdir) as run:
        cls.metadata[name] = export.export(run, os.path.join(cls.root, name))

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.root, ignore_errors=True)
    super().tearDownClass()

  def test_the_export_acts_as_the_trained_policy_with_tensorflow_alone(self):
    for name, trained in self.trained.items():
      with self.subTest(name):
        result = trained_runs.run_exported(os.path.join(self.root, name), trained.observations)
        self.assertEmpty(set(_PROJECT) & set(result['modules']))
        self.assertIn('tensorflow', result['modules'])
        self.assertEqual(result['dtype'], trained.actions.dtype.name)
        self.assertAllClose(result['actions'], trained.actions, atol=1e-6)
        self.assertAllClose(result['served'], trained.actions, atol=1e-6)
        if name == 'ppo':  # Discrete actions: exactly the same choices.
          self.assertAllEqual(result['actions'], trained.actions)

  def test_the_metadata_describes_the_signature_and_the_run(self):
    with open(os.path.join(self.root, 'sac', export.METADATA_PATH)) as f:
      metadata = json.load(f)
    self.assertEqual(metadata, json.loads(json.dumps(self.metadata['sac'])))
    self.assertEqual(metadata['observation'], {'shape': [None, 3], 'dtype': 'float32',
                                               'minimum': [-1.0, -1.0, -8.0],
                                               'maximum': [1.0, 1.0, 8.0]})
    self.assertEqual(metadata['action'], {'shape': [None, 1], 'dtype': 'float32',
                                          'minimum': [-2.0], 'maximum': [2.0]})
    self.assertEqual((metadata['agent'], metadata['env'], metadata['env_steps']),
                     ('sac', 'Pendulum-v1', trained_runs.SAC_STEPS[1]))
    ppo = self.metadata['ppo']
    self.assertEqual(ppo['action'], {'shape': [None], 'dtype': 'int32', 'num_values': 2})

  def test_the_export_holds_the_observation_statistics(self):
    reader = tf.train.load_checkpoint(os.path.join(self.root, 'ppo', 'variables', 'variables'))
    shapes = reader.get_variable_to_shape_map()
    weights = [k for k in shapes if k.startswith('weights/')]
    checkpoint = tf.train.load_checkpoint(
        os.path.join(self.trained['ppo'].logdir, 'checkpoints', 'ckpt-64'))
    exported = [reader.get_tensor(k).tolist() for k in weights if shapes[k] == [4]]
    for name in ('mean', 'var'):
      saved = checkpoint.get_tensor(f'actor/_normalizer/{name}/.ATTRIBUTES/VARIABLE_VALUE')
      self.assertIn(saved.tolist(), exported)
    # The policy's variables alone (a layer and the logits, the statistics): no value
    # network, no optimizer slot.
    self.assertLen(weights, 6)

  def test_a_folder_that_is_not_empty_is_refused(self):
    folder = os.path.join(self.root, 'ppo')
    before = sorted(os.listdir(folder))
    with restore.load(self.trained['ppo'].logdir) as run:
      with self.assertRaisesRegex(export.ExportError, 'is not an empty folder'):
        export.export(run, folder)
    self.assertEqual(sorted(os.listdir(folder)), before)
    self.assertEmpty([p for p in os.listdir(self.root) if p.startswith('.export_')])

  def test_actions_that_differ_are_an_error(self):
    actions = np.zeros(3, np.float32)
    export.check_actions(actions, actions.copy())
    with self.assertRaisesRegex(export.ExportError, 'differ by up to 0.5'):
      export.check_actions(actions + 0.5, actions)
    with self.assertRaisesRegex(export.ExportError, 'int32 actions'):
      export.check_actions(actions.astype(np.int32), actions)


if __name__ == '__main__':
  tf.test.main()
