"""What a run publishes besides its tables, all made from the same tables: the HTML site
(:mod:`~fls_report.outputs.site`), PDF copies of its pages (:mod:`~fls_report.outputs.pdf`),
PowerPoint slide packs (:mod:`~fls_report.outputs.slides`) and the Excel benchmark workbook
(:mod:`~fls_report.outputs.workbook`). Each only reads and formats; nothing here computes a
number a reader sees."""
