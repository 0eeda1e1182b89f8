from mevbot.cli import main

raise SystemExit(main())
