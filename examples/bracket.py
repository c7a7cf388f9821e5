import cadquery as cq
# An L-shaped bracket with a hole, in the canonical sketch-and-extrude style.
wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))
loop0=wp_sketch0.moveTo(-0.5, -0.3).lineTo(0.5, -0.3).lineTo(0.5, -0.15).lineTo(-0.35, -0.15).lineTo(-0.35, 0.3).lineTo(-0.5, 0.3).close()
solid0=wp_sketch0.add(loop0).extrude(0.4)
wp_sketch1 = cq.Workplane(cq.Plane(cq.Vector(0.0, -0.3, 0.2), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 1.0, 0.0)))
loop1=wp_sketch1.moveTo(0.2, 0.0).circle(0.08)
solid1=wp_sketch1.add(loop1).extrude(0.2)
solid=solid0.cut(solid1)
