"""Help → Accuracy: the accuracy ledger (`gpuplanner-cli validate`) in the window, and the one
background evaluation of it that the view and the error bands on the cards share."""
from gpuplanner.ui.accuracy.job import LedgerJob, shared_ledger
from gpuplanner.ui.accuracy.view import AccuracyView

__all__ = ["AccuracyView", "LedgerJob", "shared_ledger"]
