"""The Plan tab: the input form, the summary cards, the memory breakdown and the Explain area."""
