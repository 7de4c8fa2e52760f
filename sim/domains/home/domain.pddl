; A home with three robots (the second shipped domain): rooms joined by doors, robots that may
; enter only some rooms (so objects are handed over in between), appliances that are plugged in
; and switched on, surfaces and dishes that are wiped or washed clean, and a kettle that boils by
; itself once it is on (world dynamics, listed in binding.yaml).
(define (domain home)
  (:requirements :typing :negative-preconditions :disjunctive-preconditions
                 :existential-preconditions :derived-predicates)
  (:types robot room fixture item - object
          surface appliance - fixture)
  (:predicates
    ; static
    (mobile ?r - robot)
    (may_enter ?r - robot ?p - room)
    (door ?p ?q - room)
    (located ?f - fixture ?p - room)
    (has_plug ?a - appliance)
    (kettle ?a - appliance)
    (sink ?s - surface)
    (cloth ?i - item)
    ; fluent
    (at ?r - robot ?p - room)
    (holding ?r - robot ?i - item)
    (hand_free ?r - robot)
    (on ?i - item ?s - surface)
    (plugged ?a - appliance)
    (switched_on ?a - appliance)
    (clean ?x - object)
    (boiled ?a - appliance)
    ; derived: the observation model
    (sees ?r - robot ?t - object))

  ; A robot sees the room it is in, the fixtures there, what lies on the surfaces there, and
  ; what it holds.
  (:derived (sees ?r - robot ?t - object)
    (or (at ?r ?t)
        (holding ?r ?t)
        (exists (?p - room) (and (at ?r ?p) (located ?t ?p)))
        (exists (?p - room ?s - surface) (and (at ?r ?p) (located ?s ?p) (on ?t ?s)))))

  (:action go
    :parameters (?r - robot ?from ?to - room)
    :precondition (and (mobile ?r) (at ?r ?from) (or (door ?from ?to) (door ?to ?from)) (may_enter ?r ?to))
    :effect (and (at ?r ?to) (not (at ?r ?from))))

  (:action pick
    :parameters (?r - robot ?i - item ?s - surface ?p - room)
    :precondition (and (at ?r ?p) (located ?s ?p) (on ?i ?s) (hand_free ?r))
    :effect (and (holding ?r ?i) (not (on ?i ?s)) (not (hand_free ?r))))

  (:action place
    :parameters (?r - robot ?i - item ?s - surface ?p - room)
    :precondition (and (at ?r ?p) (located ?s ?p) (holding ?r ?i))
    :effect (and (on ?i ?s) (not (holding ?r ?i)) (hand_free ?r)))

  (:action hand_over
    :parameters (?giver - robot ?taker - robot ?i - item ?p - room)
    :precondition (and (at ?giver ?p) (at ?taker ?p) (holding ?giver ?i) (hand_free ?taker))
    :effect (and (holding ?taker ?i) (not (hand_free ?taker))
                 (not (holding ?giver ?i)) (hand_free ?giver)))

  (:action plug_in
    :parameters (?r - robot ?a - appliance ?p - room)
    :precondition (and (at ?r ?p) (located ?a ?p) (has_plug ?a) (not (plugged ?a)) (hand_free ?r))
    :effect (plugged ?a))

  (:action switch_on
    :parameters (?r - robot ?a - appliance ?p - room)
    :precondition (and (at ?r ?p) (located ?a ?p) (or (plugged ?a) (not (has_plug ?a))) (not (switched_on ?a)))
    :effect (switched_on ?a))

  (:action switch_off
    :parameters (?r - robot ?a - appliance ?p - room)
    :precondition (and (at ?r ?p) (located ?a ?p) (switched_on ?a))
    :effect (not (switched_on ?a)))

  (:action wipe
    :parameters (?r - robot ?s - surface ?c - item ?p - room)
    :precondition (and (at ?r ?p) (located ?s ?p) (holding ?r ?c) (cloth ?c) (not (clean ?s)))
    :effect (clean ?s))

  (:action wash
    :parameters (?r - robot ?i - item ?s - surface ?p - room)
    :precondition (and (at ?r ?p) (located ?s ?p) (sink ?s) (holding ?r ?i) (not (cloth ?i)))
    :effect (clean ?i))

  ; World dynamics: a kettle that is on and powered boils.
  (:action boil
    :parameters (?a - appliance)
    :precondition (and (kettle ?a) (switched_on ?a) (plugged ?a) (not (boiled ?a)))
    :effect (boiled ?a))
)
