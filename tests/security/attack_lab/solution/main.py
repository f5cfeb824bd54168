print("SFCANARY-answer-7d41c9e2b8")
