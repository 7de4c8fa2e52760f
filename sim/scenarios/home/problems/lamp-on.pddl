; The home (sim/domains/home): lamp-on.
(define (problem lamp-on) (:domain home)
  (:objects robot_a robot_b arm_c - robot
            kitchen hallway living_room - room
            counter sink table shelf - surface
            kettle lamp tv - appliance
            cup plate cloth book - item)
  (:init (mobile robot_a) (mobile robot_b)
         (may_enter robot_a kitchen) (may_enter robot_a hallway)
         (may_enter robot_b hallway) (may_enter robot_b living_room) (may_enter arm_c kitchen)
         (door kitchen hallway) (door hallway living_room)
         (located counter kitchen) (located sink kitchen) (located kettle kitchen)
         (located shelf hallway) (located table living_room) (located lamp living_room) (located tv living_room)
         (has_plug kettle) (has_plug lamp) (has_plug tv) (kettle kettle) (sink sink) (cloth cloth)
         (at robot_a kitchen) (at robot_b living_room) (at arm_c kitchen)
         (hand_free robot_a) (hand_free robot_b) (hand_free arm_c)
         (on cup counter) (on plate sink) (on cloth shelf) (on book table) (plugged tv))
  (:goal (switched_on lamp)))
