"""Environments the project registers with gymnasium (importing the package registers them).

  MultiGoal-v0: the 2-D point mass with four goals of Haarnoja et al. 2017 (`envs.multigoal`),
    30-step episodes.
"""

import gymnasium as gym

if 'MultiGoal-v0' not in gym.envs.registry:
  gym.register(id='MultiGoal-v0', entry_point='envs.multigoal:MultiGoalEnv',
               max_episode_steps=30)
