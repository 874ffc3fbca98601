"""The Compare tab: every instance type x precision as a sortable table over a chart, and the
sweep that fills it off the GUI thread."""
