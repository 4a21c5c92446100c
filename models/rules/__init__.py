"""Programme and calendar rules without a database: dates, phones, names, komponen."""
