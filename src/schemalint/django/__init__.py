"""``python manage.py schemalint``: add ``"schemalint.django"`` to INSTALLED_APPS. The command runs ``schemalint
check --django`` on the project with its current settings, in a separate process (the migrations are rendered
by schemalint's extractor in this interpreter, without a database)."""
