"""Package-level tests: exports and a dependency-free import."""

import os
import re
import subprocess
import sys

from absl.testing import absltest
import tensorflow as tf

import losses

_SCRIPT = """
import sys
import tensorflow
before = set(sys.modules)
import losses
new = sorted(m for m in set(sys.modules) - before if m.split('.')[0] in
             ('agents', 'networks', 'launchers', 'reverb', 'gymnasium', 'keras', 'tf_keras'))
print(','.join(new))
"""


class PackageTest(tf.test.TestCase):

  def test_exports(self):
    for name in ("returns", "policy_gradient", "trust_region", "value", "soft",
                 "distributional", "off_policy", "LossOutput"):
      self.assertTrue(hasattr(losses, name), name)
    out = losses.LossOutput(loss=tf.zeros([2]), extra=())
    self.assertEqual(out._fields, ("loss", "extra"))

  def test_required_functions_exist(self):
    required = {
        "returns": ["discounted_returns", "n_step_returns", "lambda_returns",
                    "generalized_advantage_estimation", "td_error"],
        "policy_gradient": ["policy_gradient_loss", "importance_weighted_policy_gradient_loss",
                            "entropy_loss", "deterministic_policy_gradient_loss"],
        "trust_region": ["surrogate_loss", "clipped_surrogate_loss", "kl_penalty_loss",
                         "adaptive_kl_coefficient", "conjugate_gradient",
                         "trust_region_step_size", "acer_trust_region_projection"],
        "value": ["value_loss", "clipped_double_q_target"],
        "soft": ["soft_bellman_target", "soft_q_loss", "soft_value_loss", "soft_policy_loss",
                 "temperature_loss", "soft_q_learning_value", "svgd_direction"],
        "distributional": ["categorical_projection", "categorical_td_loss"],
        "off_policy": ["retrace_targets", "vtrace", "acer_policy_loss"],
    }
    for module, names in required.items():
      for name in names:
        self.assertTrue(callable(getattr(getattr(losses, module), name, None)),
                        f"{module}.{name}")

  def test_import_pulls_in_no_agent_or_environment_code(self):
    root = os.path.dirname(os.path.dirname(os.path.abspath(losses.__file__)))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=root)
    result = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                            check=True, env=env)
    self.assertEqual(result.stdout.strip(), "")

  def test_readme_example_runs(self):
    readme = os.path.join(os.path.dirname(losses.__file__), "README.md")
    with open(readme) as f:
      code = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
    namespace = {"print": lambda *a, **k: None}
    exec(code, namespace)  # pylint: disable=exec-used
    self.assertTrue(tf.math.is_finite(namespace["loss"]))
    self.assertIn("approx_kl", namespace["metrics"])


if __name__ == "__main__":
  absltest.main()
