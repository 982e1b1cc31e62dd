"""Repair: write a corrected copy of a checkpoint (plan -> workspace edits -> atomic write -> check delta).

Library entry points: ``plan.plan_repair(dir, [FixRequest])`` -> Workspace (edits in memory, with
``changes`` and ``notes``), ``writer.write_output(ws, out)``, ``compare.check_delta(dir, out, target)``.
"""
