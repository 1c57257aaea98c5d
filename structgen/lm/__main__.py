"""``python -m structgen.lm``: convert and cache the default model once, print where it went."""

from structgen.lm.default import main

main()
