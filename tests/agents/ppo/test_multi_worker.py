"""Distributed PPO across two local worker processes (MultiWorkerMirroredStrategy, TF_CONFIG).

Heess et al. 2017 (arXiv:1707.02286): workers collect their own data and average gradients
synchronously. Two workers, each with its own rollouts, must end with identical parameters,
equal to one process training on the union of their rollouts.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import portpicker
import pytest
import tensorflow as tf

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

# Each worker: 4 envs x 6 steps; one minibatch of its 24 transitions per epoch (so shuffling
# does not matter), 3 epochs, 3 updates, each on a fresh rollout. The reference process sees
# both workers' rollouts side by side: 8 envs x 6 steps, one minibatch of 48.
_SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf
    from agents.common import core
    from agents.common import distribute
    from agents.ppo import builder
    from agents.ppo import config as ppo_config
    from agents.common import rollout as rollout_lib
    from tests.agents.ppo import test_learner as t
    mode, out = sys.argv[1], sys.argv[2]
    strategy = distribute.make_strategy('multi_worker' if mode == 'worker' else 'default')
    workers = distribute.num_workers(strategy)
    index = strategy.cluster_resolver.task_id if mode == 'worker' else None
    tf.keras.utils.set_random_seed(0)
    num_envs = 4 if mode == 'worker' else 8
    config = ppo_config.PPOConfig(num_envs=num_envs, num_steps_per_env=6,
                                  minibatch_size=num_envs * 6, num_epochs=3, hidden_sizes=(8,),
                                  normalize_advantages=False)
    components = builder.make_components(core.EnvironmentSpec(t._OBS_SPEC, t._DISCRETE),
                                         config, strategy, seed=1)
    for update in range(3):
      parts = [t.fake_rollout(t._DISCRETE, b=4, seed=10 * update + w, parts=components)
               for w in range(2)]
      if mode == 'worker':
        rollout = parts[index]
      else:  # The union of both workers' environments, side by side along B.
        rollout = rollout_lib.Rollout(*[np.concatenate(x, axis=1 if np.ndim(x[0]) > 1 else 0)
                                        for x in zip(*parts)])
      metrics = components.learner.step(rollout)
    variables = [np.asarray(v.numpy()).tolist() for v in components.network.trainable_variables]
    with open(out, 'w') as f:
      json.dump(dict(workers=workers, variables=variables, loss=float(metrics['loss'])), f)
''')


@pytest.mark.slow
class MultiWorkerPPOTest(tf.test.TestCase):

  def test_two_workers_match_one_process_on_the_union_of_their_data(self):
    tmp = tempfile.mkdtemp()
    ports = [portpicker.pick_unused_port() for _ in range(2)]
    cluster = {'worker': [f'localhost:{port}' for port in ports]}
    processes = []
    for index in range(2):
      env = {**os.environ, 'PYTHONPATH': _ROOT, 'TF_CPP_MIN_LOG_LEVEL': '3',
             'TF_CONFIG': json.dumps({'cluster': cluster,
                                      'task': {'type': 'worker', 'index': index}})}
      processes.append(subprocess.Popen(
          [sys.executable, '-c', _SCRIPT, 'worker', os.path.join(tmp, f'worker{index}.json')],
          cwd=_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    reference = subprocess.run(
        [sys.executable, '-c', _SCRIPT, 'single', os.path.join(tmp, 'single.json')], cwd=_ROOT,
        env={**os.environ, 'PYTHONPATH': _ROOT, 'TF_CPP_MIN_LOG_LEVEL': '3'},
        capture_output=True, text=True, timeout=300)
    self.assertEqual(reference.returncode, 0, reference.stderr[-3000:])
    for process in processes:
      _, stderr = process.communicate(timeout=300)
      self.assertEqual(process.returncode, 0, stderr[-3000:])
    results = []
    for name in ('worker0', 'worker1', 'single'):
      with open(os.path.join(tmp, f'{name}.json')) as f:
        results.append(json.load(f))
    self.assertEqual(results[0]['workers'], 2)
    for worker in results[:2]:
      for got, want in zip(worker['variables'], results[2]['variables']):
        self.assertAllClose(np.array(got), np.array(want), rtol=1e-4, atol=1e-5)
      self.assertAllClose(worker['loss'], results[2]['loss'], rtol=1e-4)


if __name__ == '__main__':
  tf.test.main()
