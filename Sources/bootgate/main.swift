print("bootgate")
