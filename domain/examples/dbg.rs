use std::path::Path;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let d = clea_domain::read_domain(Path::new(&a[1])).unwrap();
    let p = clea_domain::read_problem(&d, Path::new(&a[2])).unwrap();
    let t = clea_domain::Task::ground(&d, &p).unwrap();
    let r = clea_domain::relax::Relaxation::new(&t);
    let mut s = t.init.clone();
    println!("atoms {} actions {}", t.atoms.len(), t.actions.len());
    for line in std::fs::read_to_string(&a[3])
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('('))
    {
        let parts: Vec<&str> = line
            .trim_matches(|c| c == '(' || c == ')')
            .split_whitespace()
            .collect();
        let ai = t.find_action(parts[0], &parts[1..]);
        let h = r.ff(&s);
        println!(
            "{line}: idx {ai:?} h {:?}",
            h.as_ref().map(|(h, p)| (
                h,
                p.iter()
                    .map(|x| t.action_text(*x as usize))
                    .collect::<Vec<_>>()
            ))
        );
        let ai = ai.unwrap();
        println!("  applicable {}", t.applicable(ai, &s));
        s = t.apply(ai, &s);
    }
    println!("goal {} h {:?}", t.goal.holds(&s), r.ff(&s).map(|x| x.0));
}
