"""The DPG (COPDAC-Q) launcher as a user runs it: bad flags, a short run and its outputs."""

from tests.launchers import launcher_testing as testing

_SMALL = ['--env=Pendulum-v1', '--num_tilings=2', '--tiles=3', '--eval_episodes=1',
          '--eval_every=0', '--log_every=200']


class DPGLauncherTest(testing.LauncherTestCase):

  def test_each_bad_flag_fails_fast_naming_the_flag(self):
    self.assert_bad_flags_fail('dpg', _SMALL, {
        'features': ['--features=fourier'],
        'behaviour_sigma': ['--behaviour_sigma=-1'],
        'tiles': ['--tiles=200', '--num_tilings=8'],  # 8 * 201^3 features.
        'env': ['--env=CartPole-v1'],  # Discrete actions.
        'strategy': ['--strategy=mirrored'],
    })

  def test_short_run_writes_its_outputs(self):
    logdir = self.create_tempdir()
    result = testing.run('dpg', logdir, *_SMALL, '--num_steps=600', '--num_envs=2')
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    record = testing.evaluation(logdir)
    self.assertEqual(record['env_steps'], 600)
    self.assertEqual(record['updates'], 300)
    self.assert_outputs(logdir)
