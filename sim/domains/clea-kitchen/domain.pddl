; The CLEA kitchen (arXiv 2503.00729; ../../../README.md, CLEA-KITCHEN.md) as a PDDL domain:
; the five skills of the paper's pool and the world's own dynamics (the oven roasts).
;
; Reach is derived: a robot reaches a receptacle in its fixed reach, or, if it is mobile, a
; receptacle near the navigation point it stands at. A closed openable receptacle is not
; accessible: nothing can be picked from or put into it, and its contents are not seen.
; Carry limit 1 per robot (hand_free); robots that carry more bring a domain with hands.
(define (domain clea-kitchen)
  (:requirements :typing :negative-preconditions :disjunctive-preconditions :equality
                 :existential-preconditions :conditional-effects :derived-predicates)
  (:types robot navigation_point receptacle item)
  (:predicates
    ; static: the world's layout and the robots' capabilities
    (mobile ?r - robot)
    (manipulates ?r - robot)
    (in_reach ?r - robot ?x - receptacle)
    (near ?x - receptacle ?p - navigation_point)
    (openable ?x - receptacle)
    (heats ?x - receptacle)
    ; fluent
    (at ?r - robot ?p - navigation_point)
    (open ?x - receptacle)
    (in ?o - item ?x - receptacle)
    (holding ?r - robot ?o - item)
    (hand_free ?r - robot)
    (roasted ?o - item)
    ; derived
    (reaches ?r - robot ?x - receptacle)
    (accessible ?x - receptacle)
    (sees ?r - robot ?t - object))

  (:derived (reaches ?r - robot ?x - receptacle)
    (or (in_reach ?r ?x)
        (and (mobile ?r) (exists (?p - navigation_point) (and (at ?r ?p) (near ?x ?p))))))

  (:derived (accessible ?x - receptacle)
    (or (not (openable ?x)) (open ?x)))

  ; The observation model (the binding names it): a robot sees where it stands, the receptacles
  ; it reaches, what it holds, and the items in those receptacles unless they are closed.
  (:derived (sees ?r - robot ?t - object)
    (or (at ?r ?t)
        (reaches ?r ?t)
        (holding ?r ?t)
        (exists (?x - receptacle) (and (reaches ?r ?x) (accessible ?x) (in ?t ?x)))))

  (:action go_to
    :parameters (?r - robot ?p - navigation_point)
    :precondition (mobile ?r)
    :effect (and (at ?r ?p)
                 (forall (?q - navigation_point)
                   (when (and (at ?r ?q) (not (= ?q ?p))) (not (at ?r ?q))))))

  (:action open
    :parameters (?r - robot ?x - receptacle)
    :precondition (and (manipulates ?r) (openable ?x) (reaches ?r ?x) (not (open ?x)))
    :effect (open ?x))

  (:action close
    :parameters (?r - robot ?x - receptacle)
    :precondition (and (manipulates ?r) (openable ?x) (reaches ?r ?x) (open ?x))
    :effect (not (open ?x)))

  (:action pick_from
    :parameters (?r - robot ?o - item ?x - receptacle)
    :precondition (and (manipulates ?r) (reaches ?r ?x) (accessible ?x) (in ?o ?x) (hand_free ?r))
    :effect (and (holding ?r ?o) (not (in ?o ?x)) (not (hand_free ?r))))

  (:action release_to
    :parameters (?r - robot ?o - item ?x - receptacle)
    :precondition (and (holding ?r ?o) (reaches ?r ?x) (accessible ?x))
    :effect (and (in ?o ?x) (not (holding ?r ?o)) (hand_free ?r)))

  ; World dynamics, applied by the world after every step (the binding lists it): an item in a
  ; closed heating receptacle becomes roasted.
  (:action roast
    :parameters (?o - item ?x - receptacle)
    :precondition (and (heats ?x) (in ?o ?x) (not (open ?x)) (not (roasted ?o)))
    :effect (roasted ?o))
)
