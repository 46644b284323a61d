"""score: predictions against gold, one module per metric.

- mentions: trigger, argument and entity mentions (Tri-I/C, Arg-I/C as TextEE and OneIE define them);
- ree: MUC-4 role-filler entity extraction with CEAF-REE (GRIT's metric);
- templates: MUC-4 templates aligned one to one, then incident type, stage and slot fillers.

Every definition, with its source, is in docs/scoring.md.
"""
