"""Help → Accuracy: the accuracy ledger (`gpuplanner-cli validate`) in the window (view.py), and
the one background evaluation of it that the view and the error bands on the cards share
(job.py). Nothing is imported here: the window imports the job at start and the view when
Help → Accuracy first opens."""
