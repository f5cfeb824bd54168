print("I do not know the code yet")
