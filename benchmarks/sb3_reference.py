#!/usr/bin/env python3
"""Stable-Baselines3 reference run (benchmark only).

Trains ONE SB3 agent with fixed, documented hyperparameters and emits a JSON
record (stdout, and --out FILE.json if given). Must run in the SB3 venv
(benchmarks/setup_sb3.sh); it imports nothing from the main project.

Timing definitions (all time.perf_counter, t0 = just before model.learn()):
  wall_time_s        total duration of model.learn(...)
  first_iteration_s  on-policy only (PPO/A2C): t0 -> end of the first
                     rollout + train() pass, i.e. the 2nd call of the
                     callback's _on_rollout_start (or _on_training_end if
                     there is only one iteration).  null for off-policy.
  learning_starts_s  off-policy only: t0 -> first _on_rollout_end with
                     num_timesteps > learning_starts (train() follows next).
  updates            model._n_updates (PPO: minibatch gradient steps =
                     iterations * n_epochs * minibatches; A2C: one per
                     iteration; SAC/TD3/DDPG: gradient steps)
  updates_per_s      updates / wall_time_s
  updates_per_s_after_learning_starts
                     off-policy only: updates / (wall_time_s - learning_starts_s)
                     (includes env stepping + action selection interleaved
                     with training, i.e. training-phase throughput)
  eval_*             evaluate_policy, deterministic, 10 episodes, on a fresh
                     env (seed + 1000) created after training.
"""
import argparse
import json
import os
import platform
import sys
import time

import gymnasium as gym
import numpy as np
import torch
import stable_baselines3 as sb3
from stable_baselines3 import A2C, DDPG, PPO, SAC, TD3
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_atari_env, make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import VecFrameStack

ALGOS = {"ppo": PPO, "a2c": A2C, "sac": SAC, "td3": TD3, "ddpg": DDPG}
DEFAULT_ENV = {"ppo": "CartPole-v1", "a2c": "CartPole-v1", "sac": "Pendulum-v1",
               "td3": "Pendulum-v1", "ddpg": "Pendulum-v1"}
ON_POLICY = ("ppo", "a2c")


def linear(initial):
    """RL-Zoo 'lin_<x>': progress_remaining goes 1 -> 0 over learn()."""
    def schedule(progress_remaining):
        return progress_remaining * initial
    schedule.__repr__ = lambda: f"linear({initial} -> 0)"
    return schedule


def is_atari(env_id):
    return env_id.startswith("ALE/")


def make_env(env_id, n_envs, seed):
    """The vectorized env: RL-Zoo's Atari stack for ALE/ ids, else make_vec_env."""
    if not is_atari(env_id):
        return make_vec_env(env_id, n_envs=n_envs, seed=seed)  # DummyVecEnv + Monitor
    import ale_py  # noqa: F401  (registers the ALE/ ids)
    gym.register_envs(ale_py)
    # AtariWrapper: 30 no-ops, frame skip 4 (max of the last 2), episodic life, FIRE on
    # reset, 84x84 grey, clipped rewards; Monitor sits inside it, so evaluate_policy counts
    # whole games with their raw scores. frameskip=1: v5's own skip would stack on the
    # wrapper's. Sticky actions stay at v5's default 0.25, as in the project's runs.
    env = make_atari_env(env_id, n_envs=n_envs, seed=seed, env_kwargs=dict(frameskip=1))
    return VecFrameStack(env, n_stack=4)


def config(algo, env_id, args):
    """Return (n_envs, kwargs for the algo, JSON-able description)."""
    if algo == "ppo" and is_atari(env_id):
        # RL-Zoo hyperparams/ppo.yml atari
        kw = dict(n_steps=128, n_epochs=4, batch_size=256, ent_coef=0.01, vf_coef=0.5,
                  learning_rate=linear(2.5e-4), clip_range=linear(0.1))
        desc = dict(kw, learning_rate="linear 2.5e-4 -> 0", clip_range="linear 0.1 -> 0",
                    frame_stack=4, source="RL-Zoo ppo.yml atari")
        return 8, kw, desc
    if algo == "ppo":
        # RL-Zoo hyperparams/ppo.yml CartPole-v1
        kw = dict(n_steps=32, batch_size=256, n_epochs=20, gamma=0.98,
                  gae_lambda=0.8, ent_coef=0.0,
                  learning_rate=linear(1e-3), clip_range=linear(0.2))
        desc = dict(kw, learning_rate="linear 1e-3 -> 0",
                    clip_range="linear 0.2 -> 0", source="RL-Zoo ppo.yml CartPole-v1")
        return 8, kw, desc
    if algo == "a2c":
        kw = dict(ent_coef=0.0)
        return 8, kw, dict(kw, source="RL-Zoo a2c.yml CartPole-v1 (n_envs 8, ent_coef 0.0); rest SB3 defaults")
    if algo == "sac":
        kw = dict(learning_rate=1e-3, batch_size=256, tau=0.005, gamma=0.99,
                  ent_coef="auto", learning_starts=100,
                  policy_kwargs=dict(net_arch=[256, 256]))
        desc = dict(kw, source="lr 1e-3; rest SB3 defaults")
    else:  # td3 / ddpg, RL-Zoo-style Pendulum-v1
        kw = dict(gamma=0.98, learning_rate=1e-3, learning_starts=10000,
                  train_freq=1, gradient_steps=1,
                  policy_kwargs=dict(net_arch=[400, 300]))
        desc = dict(kw, action_noise="NormalActionNoise(mean 0, sigma 0.1)",
                    source="RL-Zoo-style Pendulum-v1 (buffer_size left at SB3 default)")
    if args.learning_starts is not None:
        kw["learning_starts"] = args.learning_starts
        desc["learning_starts"] = args.learning_starts
        desc["learning_starts_overridden"] = True
    return 1, kw, desc


class Timing(BaseCallback):
    def __init__(self, t0_ref, learning_starts=None, progress_every=0):
        super().__init__()
        self.progress_every = progress_every
        self.next_progress = progress_every
        self.t0_ref = t0_ref            # list holding t0 (set right before learn)
        self.learning_starts = learning_starts
        self.rollout_starts = 0
        self.first_iteration = None
        self.learning_starts_t = None

    def _mark(self):
        return time.perf_counter() - self.t0_ref[0]

    def _on_rollout_start(self):
        self.rollout_starts += 1
        if self.rollout_starts == 2 and self.first_iteration is None:
            self.first_iteration = self._mark()

    def _on_step(self):
        if self.progress_every and self.model.num_timesteps >= self.next_progress:
            self.next_progress += self.progress_every
            elapsed = self._mark()
            print(f"[sb3] {self.model.num_timesteps:,} steps, {elapsed:.0f} s, "
                  f"{self.model.num_timesteps / elapsed:.0f} steps/s", file=sys.stderr, flush=True)
        return True

    def _on_rollout_end(self):
        if (self.learning_starts is not None and self.learning_starts_t is None
                and self.model.num_timesteps > self.learning_starts):
            self.learning_starts_t = self._mark()

    def _on_training_end(self):
        if self.first_iteration is None:
            self.first_iteration = self._mark()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algo", choices=sorted(ALGOS), required=True)
    p.add_argument("--env", default=None, help="default: CartPole-v1 (ppo/a2c), Pendulum-v1 (sac/td3/ddpg)")
    p.add_argument("--steps", type=int, required=True, help="total_timesteps for learn()")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num_threads", type=int, default=None,
                   help="torch.set_num_threads(N); default: leave torch's default (as SB3 does)")
    p.add_argument("--device", default="auto", help="SB3 device (default 'auto', as SB3)")
    p.add_argument("--eval_episodes", type=int, default=10)
    p.add_argument("--learning_starts", type=int, default=None,
                   help="off-policy only: override learning_starts (for smoke tests; recorded)")
    p.add_argument("--out", default=None, help="also write the JSON record here")
    p.add_argument("--progress_every", type=int, default=0,
                   help="print steps and steps/s to stderr every N env steps (0: never)")
    args = p.parse_args()

    algo = args.algo
    env_id = args.env or DEFAULT_ENV[algo]
    if args.learning_starts is not None and algo in ON_POLICY:
        p.error("--learning_starts only applies to off-policy algos")
    if args.num_threads is not None:
        torch.set_num_threads(args.num_threads)

    n_envs, kwargs, desc = config(algo, env_id, args)
    env = make_env(env_id, n_envs, args.seed)
    if algo in ("td3", "ddpg"):
        n_act = env.action_space.shape[-1]
        kwargs["action_noise"] = NormalActionNoise(mean=np.zeros(n_act), sigma=0.1 * np.ones(n_act))

    policy = "CnnPolicy" if is_atari(env_id) else "MlpPolicy"
    model = ALGOS[algo](policy, env, seed=args.seed, device=args.device, verbose=0, **kwargs)

    # effective values as seen by the constructed model
    desc["n_envs"] = n_envs
    desc["vec_env"] = type(env).__name__
    desc["policy"] = policy
    desc["net_arch"] = str(getattr(model.policy, "net_arch", None))
    if algo in ON_POLICY:
        desc.update(n_steps=model.n_steps, batch_size=getattr(model, "batch_size", None),
                    n_epochs=getattr(model, "n_epochs", None), gamma=model.gamma,
                    gae_lambda=model.gae_lambda, ent_coef=model.ent_coef,
                    vf_coef=model.vf_coef, max_grad_norm=model.max_grad_norm)
        if algo == "a2c":
            desc.update(learning_rate=model.learning_rate, normalize_advantage=model.normalize_advantage,
                        optimizer="RMSprop(alpha=0.99, eps=1e-5)")
    else:
        desc.update(buffer_size=model.buffer_size, batch_size=model.batch_size, tau=model.tau,
                    gamma=model.gamma, learning_rate=model.learning_rate,
                    learning_starts=model.learning_starts,
                    train_freq=str(model.train_freq), gradient_steps=model.gradient_steps)
    desc["policy_kwargs"] = {k: str(v) for k, v in model.policy_kwargs.items()}

    t0 = [0.0]
    cb = Timing(t0, None if algo in ON_POLICY else model.learning_starts, args.progress_every)
    t0[0] = time.perf_counter()
    model.learn(total_timesteps=args.steps, callback=cb)
    wall = time.perf_counter() - t0[0]

    updates = int(model._n_updates)
    ups_after = None
    if algo not in ON_POLICY and cb.learning_starts_t is not None and wall > cb.learning_starts_t:
        ups_after = updates / (wall - cb.learning_starts_t)

    eval_env = make_env(env_id, 1, args.seed + 1000)
    rets, lens = evaluate_policy(model, eval_env, n_eval_episodes=args.eval_episodes,
                                 deterministic=True, return_episode_rewards=True)

    rec = dict(
        algo=algo, env=env_id, steps=args.steps, seed=args.seed,
        timesteps_done=int(model.num_timesteps),
        wall_time_s=wall,
        first_iteration_s=cb.first_iteration if algo in ON_POLICY else None,
        learning_starts_s=cb.learning_starts_t,
        updates=updates,
        updates_per_s=updates / wall if wall > 0 else None,
        updates_per_s_after_learning_starts=ups_after,
        env_steps_per_s=model.num_timesteps / wall if wall > 0 else None,
        eval_mean_return=float(np.mean(rets)),
        eval_std_return=float(np.std(rets)),
        eval_episodes=len(rets),
        eval_returns=[float(r) for r in rets],
        eval_lengths=[int(l) for l in lens],
        hyperparameters=desc,
        versions=dict(torch=torch.__version__, sb3=sb3.__version__,
                      gymnasium=gym.__version__, numpy=np.__version__,
                      python=platform.python_version()),
        torch_num_threads=torch.get_num_threads(),
        num_threads_arg=args.num_threads,
        device=str(model.device),
        host=dict(platform=platform.platform(), cpu_count=os.cpu_count()),
    )
    text = json.dumps(rec, indent=2, default=str)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
