"""Run inside Blender: import a BVH with Blender's own importer and write every frame's bone heads.

    blender -b --factory-startup --python tests/blender_bvh_positions.py -- IN.bvh OUT.json

OUT.json: {"fps": ..., "frame_start": ..., "frames": [{bone name: [x, y, z] world, Blender Z up}, ...]}.
"""

import builtins
import json
import sys

import bpy

_open = builtins.open
# Debian's Blender 3.4 runs its BVH importer (open(path, "rU")) on Python 3.11, which dropped "U"
builtins.open = lambda file, mode="r", *a, **k: _open(file, mode.replace("U", ""), *a, **k)
path, out = sys.argv[sys.argv.index("--") + 1 :][:2]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_anim.bvh(
    filepath=path,
    rotate_mode="NATIVE",
    axis_forward="-Z",
    axis_up="Y",
    update_scene_fps=True,
    update_scene_duration=True,
)
obj = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
scene = bpy.context.scene
frames = []
for f in range(scene.frame_start, scene.frame_end + 1):
    scene.frame_set(f)
    frames.append({b.name: list(obj.matrix_world @ b.head) for b in obj.pose.bones})
with _open(out, "w") as f:
    json.dump({"fps": scene.render.fps / scene.render.fps_base, "frame_start": scene.frame_start, "frames": frames}, f)
