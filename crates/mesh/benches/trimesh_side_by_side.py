# Side-by-side: trimesh's default load and the analysis figures Dentex reports.
import time, trimesh, sys
path = sys.argv[1]
def best(f, n=3):
    t = min(timeit(f) for _ in range(n)); return t
def timeit(f):
    s = time.perf_counter(); f(); return time.perf_counter() - s
load = best(lambda: trimesh.load(path, force="mesh"))
def full():
    m = trimesh.load(path, force="mesh")
    m.merge_vertices()
    return (m.is_watertight, m.is_winding_consistent, m.body_count, m.area, m.volume, m.bounds)
tot = best(full)
m = trimesh.load(path, force="mesh")
print(f"trimesh {trimesh.__version__}: load {load*1000:.0f} ms; load+merge+watertight+winding+bodies+area+volume {tot*1000:.0f} ms; faces {len(m.faces)}")
