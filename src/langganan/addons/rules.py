MAX_QUANTITY = 1000  # units of one add-on bought at once
