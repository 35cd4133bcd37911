"""fls_report: the Fracture Liaison Service Database (FLS-DB) audit report pipeline.

Data flows one way: ``params`` -> ``io`` -> ``validate`` -> ``kpis`` -> ``stats`` -> ``tables``.
"""

__version__ = "0.1.0"
