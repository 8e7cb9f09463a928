"""CTC fine-tuning as a task kind of its own, for every method that trains (PARP, SRP, per-layer masks).

- `loop.train(model, examples, spec, hooks, params, progress=...)`: Adam fine-tuning, feature
  encoder frozen by default, seeded; a method acts through `hooks.TrainingHooks` (on every
  start and resume, before each update, an extra loss term, between backward and the optimiser
  step, after each update, at the end); the state is saved every `save_every` updates and a restarted task
  continues from it, counting the updates it redid.
- `kind.TrainingFactory` / `kind.training_kind`: the engine task kind; its artifact `model/` is
  the trained checkpoint folder (`kind.trained_model_dir`).
- `status.training_progress` / `status.format_training`: the live step and loss of running
  tasks, for `gridprune status` (torch-free: this package imports nothing until asked).
"""
