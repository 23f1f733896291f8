from footfall.entry import main

main()
