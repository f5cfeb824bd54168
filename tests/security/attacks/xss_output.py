"""Print HTML and JavaScript where the pages show our output: the first line is echoed in a
feedback message, the rest lands in the log."""

PAYLOADS = [
    "<script>alert('sf-xss-first-line')</script>",
    "</pre><script>alert('sf-xss-log')</script><pre>",
    "<img src=x onerror=alert('sf-xss-img')>",
    '<a href="javascript:alert(\'sf-xss-link\')">click me</a>',
    "[click](javascript:alert('sf-xss-md'))",
    "<svg/onload=alert('sf-xss-svg')>",
    '"><iframe src="javascript:alert(1)"></iframe>',
    "{{ request.user }} {% debug %}",
]
for line in PAYLOADS:
    print(line)
