from vgtui.cli import main

raise SystemExit(main())
