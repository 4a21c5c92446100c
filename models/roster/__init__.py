"""The roster import: parsing rows, the statuses they carry, writing them."""
